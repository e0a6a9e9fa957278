import sys

try:   # Ctrl-C while numba and the kernels load: nothing has started, nothing to save
    from .cli import main
except KeyboardInterrupt:
    sys.stderr.write("interrupted before the run started; nothing to save\n")
    sys.exit(130)

sys.exit(main())
