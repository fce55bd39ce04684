"""Leaderboard: ``python tools/leaderboard.py CONFIG... [--checkpoints CKPT...] [--data ROOT]
[--iters N | --budget-minutes M] [--seed S] [--repeats R] [--out DIR]``. Same as ``zoo leaderboard``."""
import sys

from zoo.leaderboard.cli import run_cli

if __name__ == "__main__":
    sys.exit(run_cli(sys.argv[1:], prog="python tools/leaderboard.py"))
