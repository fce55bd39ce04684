"""Cephalograms of the synthetic set (``zoo.data.synthetic``) rendered at two pixel sizes, with a mark of fixed size in
millimetres on each landmark, and a model that reads them: the global stage knows where each landmark lies (so the
tests measure the predictor's scale handling, not a network's accuracy), the refine stage really reads its patches
-- it places each landmark at the centre of the mark it sees and records how large that mark is in patch pixels,
which is the scale the refine stage read the image at.

Shared by the tests of this folder; importable by a unique name (a bare ``conftest`` would collide with the other
folders' in one pytest run).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pytest

from zoo.data.synthetic.generator import SYMBOLS_31, make_sample

#: a few landmarks 25 mm or more apart, so each mark is alone in its patch, and the ruler's two marks (30 mm apart)
SYMBOLS = ["S", "N", "Or", "Po", "ANS", "Me", "Go", "p1", "p2"]
ANATOMICAL = [s for s in SYMBOLS if s not in ("p1", "p2")]
MARK_MM = 2.5  # the marks' radius
BIG, SMALL = (384, 480), (192, 240)  # (W, H): ~0.55 and ~1.1 mm/px
SEED = 7
INPUT = 128
PATCH = 32


@dataclass
class Ceph:
    image: np.ndarray  # (H, W) uint8
    truth: np.ndarray  # (len(SYMBOLS), 2) px
    spacing: float  # mm/px


def render(index: int, size=BIG) -> Ceph:
    """Synthetic sample ``index`` at ``size``: the film darkened, a bright disc of :data:`MARK_MM` on every landmark."""
    import cv2

    sample = make_sample(SEED, index, size=size)
    truth = sample.keypoints[[SYMBOLS_31.index(s) for s in SYMBOLS]]
    img = (sample.image.astype(np.float32) * 0.4).astype(np.uint8)
    radius = MARK_MM / sample.spacing
    shift = 4  # sub-pixel centres, as cv2 draws them
    for x, y in truth:
        cv2.circle(img, (round(x * 2 ** shift), round(y * 2 ** shift)), round(radius * 2 ** shift), 255, -1,
                   lineType=cv2.LINE_AA, shift=shift)
    return Ceph(img, truth, sample.spacing)


class MarkReader:
    """The model: ``__call__`` is the global stage (each landmark where the current image's truth says, mapped into
    the letterboxed input), ``refine`` the refine stage (the centre of the mark nearest the patch centre, and its radius
    in patch px, kept in ``radii``)."""

    name = "marks"

    def __init__(self):
        self.truth, self.hw = None, None
        self.radii: list[float] = []

    def show(self, ceph: Ceph, image=None) -> None:
        self.truth, self.hw = ceph.truth, (image if image is not None else ceph.image).shape[:2]
        self.radii = []

    def __call__(self, batch):
        from zoo.data.transforms.geometric import letterbox_warp
        from zoo.structures import apply_warp

        warp, _, _ = letterbox_warp(self.hw, (INPUT, INPUT))
        xy = apply_warp(self.truth, warp)
        return xy[None].astype(np.float32), np.full((1, len(self.truth)), 0.9, np.float32)

    def refine(self, patches):
        import cv2

        coords, scores = [], []
        for patch in np.asarray(patches)[:, 0]:
            bright = (patch >= 160).astype(np.uint8)
            n, labels, stats, centres = cv2.connectedComponentsWithStats(bright)
            centre = (patch.shape[0] - 1) / 2
            if n < 2:
                coords.append((centre, centre))
                scores.append(0.0)
                continue
            best = 1 + int(np.argmin(np.hypot(*(centres[1:] - centre).T)))
            ys, xs = np.nonzero(labels == best)
            weights = patch[ys, xs].astype(np.float64)
            coords.append((float(np.average(xs, weights=weights)), float(np.average(ys, weights=weights))))
            self.radii.append(math.sqrt(stats[best, cv2.CC_STAT_AREA] / math.pi))
            scores.append(1.0)
        return np.asarray(coords, np.float32), np.asarray(scores, np.float32)


def training_shapes(n: int = 24):
    """The landmarks of ``n`` big renderings (the model's "training set"): (shapes px, spacings); a draw whose skull
    does not fit the film is left out, as the generator leaves it."""
    samples = []
    for i in range(100, 200):
        try:
            samples.append(make_sample(SEED, i, size=BIG))
        except RuntimeError:
            continue
        if len(samples) == n:
            break
    index = [SYMBOLS_31.index(s) for s in SYMBOLS]
    return np.stack([s.keypoints[index] for s in samples]), [s.spacing for s in samples]


def model_meta(*, ruler_mm=None, train_mm=True, anatomy=True, quality=True) -> dict:
    """The metadata of a two-stage model trained on the big renderings: 1 px patches of 32 px at its pixel size,
    its training pixel size and anatomy (each left out on request, as in a file written before #39), a quality
    block (shape model and thresholds fitted on the training shapes)."""
    from zoo.calibration import training_scale
    from zoo.models.refinement import RefineSpec
    from zoo.quality import QualityModel, ShapeModel
    from zoo.quality.gate import Threshold

    shapes, spacings = training_shapes()
    mm, size = training_scale(spacings, shapes, np.ones(shapes.shape[:2], bool), SYMBOLS, "24 big renderings")
    preprocess = {"input_size": [INPUT, INPUT], "channels": 1, "pad_value": 0.0, "mean": [0.0], "std": [1.0],
                  "letterbox": True, "value_range": 255.0}
    if train_mm:
        preprocess["train_mm_per_pixel"] = mm
    meta = {"format": 2, "landmark_set": "marks", "landmark_symbols": list(SYMBOLS), "preprocess": preprocess,
            "model_type": "TwoStageDetector", "ruler_mm": ruler_mm,
            "refine": RefineSpec(PATCH, 1.0, channels=1, mean=(0.0,), std=(1.0,)).to_dict()}
    if anatomy:
        meta["anatomy"] = size
    if quality:
        keep = [SYMBOLS.index(s) for s in ANATOMICAL]
        shape = ShapeModel.fit(shapes[:, keep], ANATOMICAL)
        thresholds = {"confidence": Threshold(0.5, 0.3), "shape_distance": Threshold(6.0, 12.0)}
        meta["quality"] = QualityModel(shape, thresholds, None, {"train": "24 big renderings"}).to_dict()
    return meta


def predictor(meta=None, scale="auto"):
    from zoo.inference import Predictor

    return Predictor(MarkReader(), meta if meta is not None else model_meta(), orientation="fixed", scale=scale)


@pytest.fixture(scope="session")
def small_ceph() -> Ceph:
    return render(3, SMALL)


@pytest.fixture(scope="session")
def big_ceph() -> Ceph:
    return render(3, BIG)


# -- a real (untrained) two-stage checkpoint, for zoo test, zoo predict and exports ------------------------------
#: the pixel size its config says it was trained at, and the test images' own: each image is read at factor 2
TRAIN_MM, TEST_MM = 0.05, 0.1
BLOB_HW = (160, 128)


def _blob_image(seed: int):
    rng = np.random.default_rng(seed)
    h, w = BLOB_HW
    pts = np.stack([rng.uniform(20, w - 20, 19), rng.uniform(20, h - 20, 19)], 1)
    ys, xs = np.mgrid[0:h, 0:w]
    img = np.full((h, w), 20.0)
    for x, y in pts:
        img += 200.0 * np.exp(-((xs - x) ** 2 + (ys - y) ** 2) / (2 * 1.5 ** 2))
    return np.clip(img, 0, 255).astype(np.uint8), pts


def two_stage_checkpoint(folder):
    """An untrained two-stage HRNet-W18-small (64 px input, 32 px patches) whose config trains on images of
    :data:`TRAIN_MM` and tests on a CSV of three images of :data:`TEST_MM`, saved as a zoo checkpoint; ``min_score``
    0 so that every landmark goes through the refine graph. Returns ``(checkpoint, [(image path, truth)])``."""
    import cv2
    import torch
    from mmengine.config import Config

    from zoo.modelfile.meta import build_zoo_meta
    from zoo.models.two_stage import TwoStageDetector
    from zoo.registry import MODELS, load_plugins

    load_plugins()
    data = folder / "blob data"
    data.mkdir(parents=True)
    rows, images = [], []
    for i in range(3):
        img, pts = _blob_image(i)
        path = data / f"blob {i}.png"
        cv2.imwrite(str(path), img)
        images.append((path, pts))
        rows.append(",".join([path.name, *(f"{v:.2f}" for v in pts.reshape(-1)), str(TEST_MM)]))
    header = "image," + ",".join(f"x{k},y{k}" for k in range(1, 20)) + ",spacing"
    (data / "test.csv").write_text("\n".join([header, *rows]) + "\n")
    (data / "train.csv").write_text("\n".join([header, *(r.rsplit(",", 1)[0] + "," for r in rows)]) + "\n")
    smoke = dict(TwoStageDetector._smoke_cfgs()[0], test_cfg=dict(min_score=0.0))
    model_cfg = dict(type="TwoStageDetector", **smoke, data_preprocessor=dict(
        type="LandmarkDataPreprocessor", mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], channels=3))
    text = f"""default_scope = 'zoo'
model = {model_cfg!r}
test_pipeline = [dict(type='LoadCephalogram', channels=3, keep_gray=True),
                 dict(type='RefinePatches', patch_size=32, patch_scale=2.0, test_mode=True),
                 dict(type='LetterboxResize', size=(64, 64)), dict(type='PackLandmarkInputs')]
train_dataloader = dict(batch_size=2, dataset=dict(type='CsvLandmarkDataset', data_root={str(data)!r},
                        ann_file='train.csv', spacing={TRAIN_MM}, pipeline=test_pipeline))
test_dataloader = dict(batch_size=2, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(type='CsvLandmarkDataset', data_root={str(data)!r}, ann_file='test.csv',
                 pipeline=test_pipeline, test_mode=True))
test_evaluator = dict(type='LandmarkMetric')
"""
    cfg_path = folder / "two_stage.py"
    cfg_path.write_text(text)
    cfg = Config.fromfile(str(cfg_path))
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).eval()
    ckpt = folder / "two stage.pth"
    torch.save({"state_dict": model.state_dict(), "zoo_meta": build_zoo_meta(cfg, model)}, ckpt)
    return ckpt, images
