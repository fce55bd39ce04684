"""Evaluate: ``python tools/test.py CONFIG_OR_CHECKPOINT [CHECKPOINT] [--out results.json] [--show-dir DIR]``.

Same as ``zoo test``.
"""
import sys

from zoo.engine.entry import run_cli

if __name__ == "__main__":
    sys.exit(run_cli("test", sys.argv[1:]))
