"""tracelake: a self-hostable data plane for LLM application data."""

__version__ = "0.1.0"
