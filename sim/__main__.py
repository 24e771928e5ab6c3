from sim.cli import main

# the guard matters: vLLM's CPU engine and the sweep pool spawn processes that re-import this module
if __name__ == "__main__":
    raise SystemExit(main())
