"""Export a checkpoint: ``python tools/export.py CKPT --format onnx|torchscript|onnx-int8 [--out F]``.

The same command as ``zoo export`` (see ``--help``); every export checks itself on real images.
"""
import sys

from zoo.cli import main

if __name__ == "__main__":
    main(["export", *sys.argv[1:]])
