"""What a reader needs to re-run a leaderboard: machine, versions, commit, seed and the exact data split."""
from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path


def versions() -> dict:
    import importlib.metadata as md

    out = {"python": sys.version.split()[0]}
    for dist in ("ceph-zoo", "torch", "timm", "mmengine-lite", "mmengine", "onnx", "onnxruntime", "numpy",
                 "opencv-python-headless", "matplotlib"):
        try:
            out[dist] = md.version(dist)
        except md.PackageNotFoundError:
            continue
    return out


def git_commit(path: Path | None = None) -> str | None:
    from zoo.data.paths import repo_root

    try:
        cwd = path or repo_root()
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=cwd,
                               capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    if sha.returncode != 0:
        return None
    return sha.stdout.strip() + (" (with local changes)" if dirty.stdout.strip() else "")


def describe_split(cfg, loader_key: str) -> dict | None:
    """The split a dataloader reads: dataset type, root, split name, annotator, image count and a digest of
    its sorted image names (two runs with the same digest used the same images)."""
    from zoo.registry import DATASETS

    loader = cfg.get(loader_key)
    if not loader or not loader.get("dataset"):
        return None
    ds_cfg = dict(loader["dataset"])
    info = {k: ds_cfg.get(k) for k in ("type", "data_root", "split", "annotator", "landmark_set")
            if ds_cfg.get(k) is not None}
    ds_cfg.update(pipeline=[], lazy_init=False)
    if "check_images" in DATASETS.get(ds_cfg["type"]).__init__.__code__.co_varnames:
        ds_cfg["check_images"] = False
    dataset = DATASETS.build(ds_cfg)
    names = sorted(Path(dataset.get_data_info(i)["img_path"]).name for i in range(len(dataset)))
    info["data_root"] = str(getattr(dataset, "root", info.get("data_root")))
    info["images"] = len(names)
    info["first_last"] = [names[0], names[-1]] if names else []
    info["sha256_of_names"] = hashlib.sha256("\n".join(names).encode()).hexdigest()[:16]
    return info
