"""CPU latency benchmark: ``python tools/benchmark.py [CONFIGS or MODELS] [--size 512] [--runs 20]``.

The same command as ``zoo benchmark`` (see ``--help``).
"""
import sys

from zoo.cli import main

if __name__ == "__main__":
    main(["benchmark", *sys.argv[1:]])
