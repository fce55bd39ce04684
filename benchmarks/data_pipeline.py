"""Data-pipeline throughput: a 1935x2400 ISBI JPEG -> 512x512 augmented training sample, per worker.

Runs the train pipeline of ``configs/_base_/datasets/isbi2015.py`` (LoadCephalogram with reduced JPEG
decoding, letterbox, random affine, photometric jitter, blur, sharpness, packing) in one process, which
is what one dataloader worker does. Also times the same pipeline with full-resolution decoding, to show
what the reduced decode buys. Target: >= 15 images/s per worker.

    python benchmarks/data_pipeline.py [--isbi-root PATH] [--images 60] [--size 512]
"""
from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path


def _default_root() -> Path:
    env = os.environ.get("ZOO_ISBI_ROOT")
    return Path(env) if env else Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "isbi2015"


def _pipeline(size: int, reduced: bool):
    from zoo.registry import TRANSFORMS

    load = dict(type="LoadCephalogram", channels=3, keep_gray=True)
    if reduced:
        load.update(target_size=(size, size), reduce_margin=1.1)
    cfgs = [load,
            dict(type="LetterboxResize", size=(size, size)),
            dict(type="RandomAffine", rotate=10.0, scale=(0.9, 1.1), translate=0.05, prob=1.0),
            dict(type="PhotometricJitter", brightness=0.2, contrast=0.25, prob=1.0),
            dict(type="RandomGaussianBlur", sigma=(0.1, 1.5), prob=0.3),
            dict(type="RandomSharpness", factor=(0.5, 2.0), prob=0.3),
            dict(type="PackLandmarkInputs")]
    return [TRANSFORMS.build(c) for c in cfgs]


def measure(ds, pipeline, n: int) -> float:
    """Images per second over ``n`` samples (after two warm-up samples)."""
    infos = [ds.get_data_info(i % len(ds)) for i in range(n + 2)]
    for info in infos[:2]:
        for t in pipeline:
            info = t(dict(info))
    start = time.perf_counter()
    for info in infos[2:]:
        sample = dict(info)
        for t in pipeline:
            sample = t(sample)
    return n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--isbi-root", type=Path, default=_default_root())
    parser.add_argument("--images", type=int, default=60)
    parser.add_argument("--size", type=int, default=512)
    args = parser.parse_args()

    import cv2
    import numpy as np
    import torch

    from zoo.data.datasets import ISBI2015Dataset

    cv2.setNumThreads(1)  # a dataloader worker gets one core; mmengine's workers do the same
    torch.set_num_threads(1)
    np.random.seed(0)
    ds = ISBI2015Dataset(str(args.isbi_root), split="train")
    reduced = measure(ds, _pipeline(args.size, True), args.images)
    full = measure(ds, _pipeline(args.size, False), args.images)
    print(f"machine: {platform.platform()}, {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs, python {platform.python_version()}, torch {torch.__version__}, "
          f"opencv {cv2.__version__}")
    print(f"input: {args.images} ISBI JPEGs 1935x2400 -> {args.size}x{args.size} augmented samples, 1 thread")
    print(f"reduced JPEG decoding: {reduced:6.1f} images/s per worker")
    print(f"full-resolution decode: {full:6.1f} images/s per worker")
    print(f"target >= 15 images/s per worker: {'met' if reduced >= 15 else 'NOT met'}")


if __name__ == "__main__":
    main()
