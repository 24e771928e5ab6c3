import signal
import sys

from sim.cli import main

# the guard matters: vLLM's CPU engine and the sweep pool spawn processes that re-import this module
if __name__ == "__main__":
    # SIGTERM unwinds like Ctrl-C, so exit hooks run: the trace closes and a model backend stops its engine
    # processes (which may have been started from a viewer's thread, where no handler can be set)
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    raise SystemExit(main())
