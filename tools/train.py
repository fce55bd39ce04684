"""Train a detector: ``python tools/train.py CONFIG [--work-dir] [--resume [CKPT]] [--amp] [--cfg-options k=v]``.

Distributed: ``torchrun --nproc_per_node=N tools/train.py CONFIG --launcher pytorch``. Same as ``zoo train``.
"""
import sys

from zoo.engine.entry import run_cli

if __name__ == "__main__":
    sys.exit(run_cli("train", sys.argv[1:]))
