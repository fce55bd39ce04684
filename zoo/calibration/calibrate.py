"""Fit a model's quality block from its own data: the training annotations' shapes, then the model's readings of
clean validation images for the verdict thresholds and the uncertainty calibration.

Thresholds are set on clean images only, never on examples of garbage: what garbage looks like cannot be listed in
advance, what a readable cephalogram looks like can. Each signal's threshold lies a fixed number of robust standard
deviations (1.4826 x the median absolute deviation) from the clean median on its bad side, and at least one beyond
the worst clean value, so no validation image is flagged by construction; ``reject`` lies the difference of the two
multipliers further out. The clean values are the validation images' signals; the shape distance also takes the
training shapes' held-out distances (many more anatomies than the validation images hold). The two multipliers were
chosen with ``benchmarks/quality_gate.py --tune`` on the model's *training* images and corrupted copies of them,
never on the test images the gate is measured on: for the shipped ``isbi19`` every pair from 3/8 to 8/16 flagged
none of 40 clean training images and all of their corrupted copies, and the middle of that range is kept, leaving
room on the clean side for anatomies rarer than the validation set's.

It sits above ``zoo.inference`` (it runs the predictor and writes model files) rather than in
``zoo.quality``, whose verdict and uncertainty maths the model-file reader and the predictor import.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from zoo.quality.gate import SIGNALS, Threshold, image_signals
from zoo.quality.model import QualityModel
from zoo.quality.shape import ShapeModel
from zoo.quality.uncertainty import UncertaintyModel
from zoo.registry import ZooError

SUSPECT_SD = 6.0
REJECT_SD = 12.0
MIN_SHAPES_PER_FOLD = 10
#: below this many validation images the thresholds would rest on too little
MIN_VALIDATION_IMAGES = 8


class CalibrationError(ZooError):
    """The quality calibration cannot be fitted from the data given."""


@dataclass
class ValidationRead:
    """One validation image as the model read it, and its truth."""

    signals: dict
    features: np.ndarray
    errors: np.ndarray  # (K,) radial px, NaN where unlabelled


def fit_shape_model(shapes, labelled, symbols, leave_out=("p1", "p2"), folds: int = 10):
    """The shape model of the fully labelled training shapes over every landmark but the ruler's, and each
    training shape's distance from a model fitted without it (``folds``-fold): how far a *new* anatomy lies, from
    many more shapes than the validation images hold."""
    keep = [i for i, s in enumerate(symbols) if s not in leave_out]
    names = [symbols[i] for i in keep]
    shapes = np.asarray(shapes, np.float64)[:, keep]
    shapes = shapes[np.asarray(labelled, bool)[:, keep].all(axis=1)]
    model = ShapeModel.fit(shapes, names)
    fold = np.arange(len(shapes)) % folds
    held_out = []
    for f in range(folds):
        if (fold != f).sum() >= MIN_SHAPES_PER_FOLD and (fold == f).any():
            part = ShapeModel.fit(shapes[fold != f], names)
            held_out += [part.distance(s) for s in shapes[fold == f]]
    return model, held_out


#: (cranial, caudal) landmark pairs; the first present tells whether the training images stand upright
_UPRIGHT_PAIRS = (("S", "Me"), ("N", "Me"), ("S", "Gn"), ("N", "Pog"))


def canonical_orientation(shapes, labelled, symbols) -> dict:
    """Which way the training images face, from their annotations' mean: what "as trained" means for this model
    (a reader of an exported file learns it here, not from the images)."""
    from zoo.clinical.analysis import profile_facing

    shapes, labelled = np.asarray(shapes, np.float64), np.asarray(labelled, bool)
    points = {s: shapes[labelled[:, i], i].mean(axis=0) for i, s in enumerate(symbols) if labelled[:, i].any()}
    upright = next((bool(points[a][1] < points[b][1]) for a, b in _UPRIGHT_PAIRS if a in points and b in points),
                   None)
    return {"profile_faces": profile_facing(points) or "unknown", "upright": upright,
            "source": f"mean of {len(shapes)} training annotations"}


def dataset_orientation(dataset, symbols) -> dict | None:
    """:func:`canonical_orientation` of a built training dataset (wrappers unwrapped; lazily serialised ones read
    through ``get_data_info``), or None when its annotations cannot be read without loading images."""
    while not hasattr(dataset, "get_data_info") and hasattr(dataset, "dataset"):
        dataset = dataset.dataset
    try:
        _, shapes, labelled = annotations(dataset)
    except (AttributeError, KeyError, TypeError, ValueError):
        return None
    if shapes.shape[1:] != (len(symbols), 2):
        return None
    return canonical_orientation(shapes, labelled, list(symbols))


def threshold_for(values, direction: str, suspect_sd: float = SUSPECT_SD, reject_sd: float = REJECT_SD) -> Threshold:
    """A signal's thresholds from its clean validation values (see the module's docstring)."""
    v = np.asarray([x for x in values if math.isfinite(x)], np.float64)
    median = float(np.median(v))
    sd = 1.4826 * float(np.median(np.abs(v - median)))
    sd = max(sd, 0.05 * float(np.std(v)), 1e-6 * max(abs(median), 1.0))
    if direction == "high":
        suspect = max(median + suspect_sd * sd, float(v.max()) + sd)
        return Threshold(suspect, suspect + (reject_sd - suspect_sd) * sd)
    suspect = min(median - suspect_sd * sd, float(v.min()) - sd)
    return Threshold(suspect, suspect - (reject_sd - suspect_sd) * sd)


def read_validation(predictor, shape_model, samples, progress=None) -> list[ValidationRead]:
    """``samples``: (image path, truth (K, 2) px, labelled (K,) bool) -> what the model made of each;
    ``progress(done, total)`` after each."""
    out = []
    for i, (path, truth, labelled) in enumerate(samples):
        img = predictor.load(path, str(path))
        reading, finding, coords = predictor.oriented_read(img)
        errors = np.linalg.norm(coords - np.asarray(truth, np.float64), axis=1)
        errors[~np.asarray(labelled, bool)] = np.nan
        out.append(ValidationRead(image_signals(reading, shape_model, finding), reading.features(), errors))
        if progress:
            progress(i + 1, len(samples))
    return out


def fit_quality(shape_model: ShapeModel, reads: list[ValidationRead], calibrated_on: dict, held_out_shapes=(),
                suspect_sd: float = SUSPECT_SD, reject_sd: float = REJECT_SD) -> QualityModel:
    """Thresholds from the validation reads (the shape distance's also from the held-out training shapes) and the
    uncertainty fitted on the validation errors."""
    if len(reads) < MIN_VALIDATION_IMAGES:
        raise CalibrationError(f"{len(reads)} validation images; the thresholds need at least "
                               f"{MIN_VALIDATION_IMAGES}")
    clean = {name: [r.signals[name] for r in reads] for name in reads[0].signals}
    if "shape_distance" in clean:
        clean["shape_distance"] += list(held_out_shapes)
    thresholds = {name: threshold_for(values, SIGNALS[name][0], suspect_sd, reject_sd)
                  for name, values in clean.items()}
    uncertainty = UncertaintyModel.fit(np.stack([r.features for r in reads]), np.stack([r.errors for r in reads]))
    errors = np.concatenate([r.errors for r in reads])
    info = {**calibrated_on, "validation_images": len(reads), "shape_training_shapes": shape_model.num_shapes,
            "shape_held_out_distances": len(held_out_shapes),
            "validation_mre_px": round(float(np.nanmean(errors)), 3),
            "suspect_sd": suspect_sd, "reject_sd": reject_sd}
    return QualityModel(shape_model, thresholds, uncertainty, info)


def dataset_samples(cfg_dataset: dict, data_root=None) -> tuple[list, np.ndarray, np.ndarray]:
    """A config's dataset read without its pipeline: ``(samples, shapes (N, K, 2), labelled (N, K))``."""
    from zoo.registry import DATASETS

    cfg = {**dict(cfg_dataset), "pipeline": [], "test_mode": True}
    if data_root is not None:
        cfg["data_root"] = str(data_root)
    return annotations(DATASETS.build(cfg))


def annotations(dataset) -> tuple[list, np.ndarray, np.ndarray]:
    """A built dataset's samples without loading an image: ``(samples, shapes (N, K, 2), labelled (N, K))``, each
    sample ``(image path, truth, labelled)``."""
    infos = [dataset.get_data_info(i) for i in range(len(dataset))]
    shapes = np.stack([np.asarray(d["ori_keypoints"], np.float64) for d in infos])
    labelled = np.stack([np.asarray(d["ori_keypoints_visible"]) > 0 for d in infos])
    return [(d["img_path"], s, m) for d, s, m in zip(infos, shapes, labelled)], shapes, labelled


def calibrate_model(model, data_root=None, threads: int | None = None, progress=None) -> tuple[QualityModel, dict]:
    """The quality block of ``model`` (a name or file) from its config's training annotations and validation
    images (``data_root`` overrides where both live), and the training images' orientation."""
    from zoo.inference import Predictor
    from zoo.modelfile import checkpoint_config

    predictor = Predictor.from_path(model, threads=threads)
    cfg = checkpoint_config(predictor.meta, model)
    _, shapes, labelled = dataset_samples(cfg.train_dataloader.dataset, data_root)
    shape_model, held_out = fit_shape_model(shapes, labelled, predictor.symbols)
    val_cfg = (cfg.get("val_dataloader") or {}).get("dataset")
    if not val_cfg:
        raise CalibrationError(f"{model}: its config has no val_dataloader to calibrate on")
    samples, _, _ = dataset_samples(val_cfg, data_root)
    reads = read_validation(predictor, shape_model, samples, progress)
    described = {"train": _describe(cfg.train_dataloader.dataset), "validation": _describe(val_cfg)}
    facing = canonical_orientation(shapes, labelled, predictor.symbols)
    return fit_quality(shape_model, reads, described, held_out), facing


def _describe(ds: dict) -> str:
    parts = [str(ds.get("type"))] + [f"{k}={ds[k]}" for k in ("split", "indices", "annotator") if ds.get(k)]
    return " ".join(parts)


def write_calibrated(model_path, out, data_root=None, threads: int | None = None, progress=None):
    """``model_path`` (a checkpoint or weights file) copied to ``out`` with its quality block; returns
    ``(out, quality)``. The weights are not touched: a weights file keeps its stored tensors byte for byte."""
    from pathlib import Path

    from zoo.modelfile import safe_load, save_checkpoint
    from zoo.inference.backends import is_exported
    from zoo.modelfile.weights import is_weights_file, read_meta, with_meta

    model_path, out = Path(model_path), Path(out)
    if is_exported(model_path):
        raise CalibrationError(f"{model_path} is an exported graph; calibrate the checkpoint or weights file it came "
                               f"from, then export that again (the export carries the calibration)")
    if is_weights_file(model_path) != is_weights_file(out) or out.resolve() == model_path.resolve():
        raise CalibrationError(f"--out must be a new file of the same kind as {model_path.name} "
                               f"({model_path.suffix}), got {out.name}")
    quality, facing = calibrate_model(model_path, data_root, threads, progress)
    added = {"quality": quality.to_dict(), "canonical_orientation": facing}
    if is_weights_file(model_path):
        return with_meta(model_path, {**read_meta(model_path), **added}, out), quality
    checkpoint = safe_load(model_path)
    checkpoint["zoo_meta"] = {**checkpoint["zoo_meta"], **added}
    return save_checkpoint(checkpoint, out), quality
