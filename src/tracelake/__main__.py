from tracelake.cli import app

app(prog_name="tracelake")
