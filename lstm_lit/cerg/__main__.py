import sys

try:   # Ctrl-C while numba and the kernels load: nothing has started, nothing to save
    from ..experiment_cli import exit_with
    from .cli import main
except KeyboardInterrupt:
    sys.stderr.write("interrupted before the run started; nothing to save\n")
    sys.exit(130)

exit_with(main)
