import sys

try:   # Ctrl-C while numba and the kernels load: nothing has started, nothing to save
    from .cli import main
except KeyboardInterrupt:
    sys.stderr.write("interrupted before the run started; nothing to save\n")
    sys.exit(130)

try:   # from here on Ctrl-C only sets the runner's stop flag (see experiment_cli.call_with_stop_flag), even at exit
    status = main(restore_signals=False)
except KeyboardInterrupt:   # in the instant before the flag's handler is installed: nothing has started either
    sys.stderr.write("interrupted before the run started; nothing to save\n")
    sys.exit(130)
sys.exit(status)
