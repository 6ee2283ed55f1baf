import sys

try:
    from tracelake.cli import main
except KeyboardInterrupt:  # a Ctrl-C while the modules load: no traceback
    print("interrupted", file=sys.stderr)
    sys.exit(130)

sys.exit(main())
