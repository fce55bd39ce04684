"""The two-stage tests' tiny data: synthetic cephalograms (a few bright blobs as landmarks), the pipeline
that turns them into batches, an HRNet-W18-small two-stage model on 64 px inputs and 32 px patches, and a
checkpoint of it beside a temporary ISBI layout. Shared by test_two_stage.py and test_ensemble.py."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from zoo.registry import MODELS, TRANSFORMS, load_plugins

load_plugins()

H, W, K = 160, 128, 19
PATCH, SCALE = 32, 2.0


def _blob_image(centres, hw=(H, W), sigma=1.5) -> np.ndarray:
    ys, xs = np.mgrid[0:hw[0], 0:hw[1]]
    img = np.full(hw, 20.0)
    for x, y in centres:
        img += 200.0 * np.exp(-((xs - x) ** 2 + (ys - y) ** 2) / (2 * sigma**2))
    return np.clip(img, 0, 255).astype(np.uint8)


def _results(seed: int = 0):
    rng = np.random.default_rng(seed)
    pts = np.stack([rng.uniform(20, W - 20, K), rng.uniform(20, H - 20, K)], 1).astype(np.float32)
    img = _blob_image(pts)[:, :, None]
    return dict(img=img, img_shape=(H, W), ori_shape=(H, W), keypoints=pts.copy(), ori_keypoints=pts.copy(),
                keypoints_visible=np.ones(K, np.float32), ori_keypoints_visible=np.ones(K, np.float32),
                warp=np.eye(3), spacing=0.1, landmark_set="isbi2015", channels=3, img_path=f"synthetic_{seed}")


def _two_stage(**over):
    from zoo.models.two_stage import TwoStageDetector

    cfg = dict(TwoStageDetector._smoke_cfgs()[0], **over)
    torch.manual_seed(0)
    return MODELS.build(dict(type="TwoStageDetector", **cfg))


def _batch(train: bool, n: int = 2, **refine):
    """``n`` synthetic samples through the two-stage pipeline, collated; ``refine``: RefinePatches arguments
    over the defaults below."""
    from mmengine.dataset import pseudo_collate

    cut = {"patch_size": PATCH, "patch_scale": SCALE, "jitter": 5.0, **refine}
    steps = [dict(type="RefinePatches", test_mode=not train, **cut),
             dict(type="LetterboxResize", size=(64, 64)), dict(type="PackLandmarkInputs")]
    pipeline = [TRANSFORMS.build(s) for s in steps]
    samples = []
    for i in range(n):
        r = _results(i)
        for step in pipeline:
            r = step(r)
        samples.append(r)
    return pseudo_collate(samples)


def _isbi_tree(root: Path, n: int = 3) -> Path:
    import cv2

    for i in range(151, 151 + n):
        r = _results(i)
        path = root / "RawImage" / "Test1Data" / f"{i:03d}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(path), r["img"][:, :, 0], [cv2.IMWRITE_JPEG_QUALITY, 95])
        ann = root / "AnnotationsByMD" / "400_senior" / f"{i:03d}.txt"
        ann.parent.mkdir(parents=True, exist_ok=True)
        ann.write_text("\n".join(f"{x:.0f},{y:.0f}" for x, y in r["keypoints"]) + "\n")
    (root / "RawImage" / "TrainingData").mkdir(parents=True, exist_ok=True)
    return root


def _two_stage_checkpoint(folder: Path, **smoke_over) -> Path:
    from mmengine.config import Config

    from zoo.modelfile.meta import build_zoo_meta
    from zoo.models.two_stage import TwoStageDetector

    root = _isbi_tree(folder / "isbi data")
    smoke = dict(TwoStageDetector._smoke_cfgs()[0], **smoke_over)
    model_cfg = dict(type="TwoStageDetector", **smoke, data_preprocessor=dict(
        type="LandmarkDataPreprocessor", mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], channels=3))
    text = f"""default_scope = 'zoo'
model = {model_cfg!r}
test_pipeline = [dict(type='LoadCephalogram', channels=3, keep_gray=True),
                 dict(type='RefinePatches', patch_size={PATCH}, patch_scale={SCALE}, test_mode=True),
                 dict(type='LetterboxResize', size=(64, 64)), dict(type='PackLandmarkInputs')]
test_dataloader = dict(batch_size=2, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(type='ISBI2015Dataset', data_root={str(root)!r}, split='test1', annotator='senior',
                 landmark_set='isbi2015', pipeline=test_pipeline, test_mode=True))
"""
    cfg_path = folder / "two_stage.py"
    cfg_path.write_text(text)
    cfg = Config.fromfile(str(cfg_path))
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).eval()
    model.test_cfg["min_score"] = 0.0  # random weights: let every landmark go through the refine graph
    meta = build_zoo_meta(cfg, model)
    refine = meta["refine"]
    assert (refine["patch_size"], refine["patch_scale"]) == (smoke["patch_size"], smoke["patch_scale"])
    ckpt = folder / "two stage.pth"
    torch.save({"state_dict": model.state_dict(), "zoo_meta": meta}, ckpt)
    return ckpt
