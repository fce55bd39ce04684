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
from zoo.quality.shape import ShapeModel, ShapeModelError
from zoo.quality.uncertainty import UncertaintyError, UncertaintyModel
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


def training_scale(spacings, shapes, labelled, symbols, source: str = "") -> tuple[float | None, dict | None]:
    """``(train_mm_per_pixel, anatomy)`` of training data: the median of the images' known pixel sizes (what the model
    learnt to read at; None when no image has one) and the training anatomy's size
    (:class:`zoo.quality.scale.AnatomySize` as a dict; None with fewer than 10 fully labelled shapes of known pixel
    size). What the predictor reads every image at, and estimates an unknown pixel size against."""
    from zoo.quality.scale import AnatomySize

    known = [float(v) for v in spacings if v is not None and math.isfinite(float(v)) and float(v) > 0]
    if not known:
        return None, None
    anatomy = AnatomySize.fit(shapes, labelled, spacings, list(symbols), source)
    return round(float(np.median(known)), 6), anatomy.to_dict() if anatomy is not None else None


def dataset_scale(dataset, symbols) -> tuple[float | None, dict | None]:
    """:func:`training_scale` of a built training dataset (wrappers unwrapped, as :func:`dataset_orientation`);
    ``(None, None)`` when its annotations cannot be read without loading images."""
    while not hasattr(dataset, "get_data_info") and hasattr(dataset, "dataset"):
        dataset = dataset.dataset
    try:
        infos = [dataset.get_data_info(i) for i in range(len(dataset))]
        shapes = np.stack([np.asarray(d["ori_keypoints"], np.float64) for d in infos])
        labelled = np.stack([np.asarray(d["ori_keypoints_visible"]) > 0 for d in infos])
    except (AttributeError, KeyError, TypeError, ValueError):
        return None, None
    if shapes.shape[1:] != (len(symbols), 2):
        return None, None
    source = f"{len(infos)} training annotations ({type(dataset).__name__})"
    return training_scale([d.get("spacing") for d in infos], shapes, labelled, symbols, source)


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


def read_validation(predictor, shape_model, samples, progress=None, spacings=None) -> list[ValidationRead]:
    """``samples``: (image path, truth (K, 2) px, labelled (K,) bool) -> what the model made of each, read as
    ``zoo predict`` reads it: at the model's pixel size, each image's own (``spacings``, mm/px or None) known as a
    dataset's (``Predictor.scaled_read``); ``progress(done, total)`` after each."""
    out = []
    spacings = list(spacings) if spacings is not None else [None] * len(samples)
    for i, ((path, truth, labelled), spacing) in enumerate(zip(samples, spacings)):
        img = predictor.load(path, str(path))
        reading, finding, coords, _ = predictor.scaled_read(img, spacing, "dataset")
        errors = np.linalg.norm(coords - np.asarray(truth, np.float64), axis=1)
        errors[~np.asarray(labelled, bool)] = np.nan
        signals = image_signals(reading, shape_model, finding, predictor.anatomy, predictor.model_mm)
        out.append(ValidationRead(signals, reading.features(), errors))
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


def _built(cfg_dataset: dict, data_root=None):
    from zoo.registry import DATASETS

    cfg = {**dict(cfg_dataset), "pipeline": [], "test_mode": True}
    if data_root is not None:
        cfg["data_root"] = str(data_root)
    return DATASETS.build(cfg)


def dataset_samples(cfg_dataset: dict, data_root=None) -> tuple[list, np.ndarray, np.ndarray]:
    """A config's dataset read without its pipeline: ``(samples, shapes (N, K, 2), labelled (N, K))``."""
    return annotations(_built(cfg_dataset, data_root))


def dataset_samples_spacings(cfg_dataset: dict, data_root=None) -> tuple[list, np.ndarray, np.ndarray, list]:
    """:func:`dataset_samples` and each sample's pixel size (mm/px, None where unknown)."""
    dataset = _built(cfg_dataset, data_root)
    return (*annotations(dataset), [dataset.get_data_info(i).get("spacing") for i in range(len(dataset))])


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
    _, shapes, labelled, spacings = dataset_samples_spacings(cfg.train_dataloader.dataset, data_root)
    _set_scale(predictor, spacings, shapes, labelled, cfg.train_dataloader.dataset)
    way_out = (f"Label more images, or calibrate with what there is: `zoo checkpoint calibrate {model} --out OUT "
               f"--fallback START_MODEL` (e.g. isbi19, the model it was fine-tuned from) borrows what your data "
               f"cannot give")
    try:
        shape_model, held_out = fit_shape_model(shapes, labelled, predictor.symbols)
    except ShapeModelError as exc:
        raise CalibrationError(f"{model}: its training annotations ({_describe(cfg.train_dataloader.dataset)}): "
                               f"{exc}. {way_out}") from None
    val_cfg = (cfg.get("val_dataloader") or {}).get("dataset")
    if not val_cfg:
        raise CalibrationError(f"{model}: its config has no val_dataloader to calibrate on. {way_out}")
    samples, _, _, val_spacings = dataset_samples_spacings(val_cfg, data_root)
    if len(samples) < MIN_VALIDATION_IMAGES:
        raise CalibrationError(f"{model}: {len(samples)} validation images; the thresholds need at least "
                               f"{MIN_VALIDATION_IMAGES}. {way_out}")
    reads = read_validation(predictor, shape_model, samples, progress, val_spacings)
    described = {"train": _describe(cfg.train_dataloader.dataset), "validation": _describe(val_cfg)}
    if predictor.model_mm is not None:
        described["read_mm_per_pixel"] = predictor.model_mm
    facing = canonical_orientation(shapes, labelled, predictor.symbols)
    quality = fit_quality(shape_model, reads, described, held_out)
    return quality.with_scale(predictor.anatomy, predictor.model_mm), facing


def _set_scale(predictor, spacings, shapes, labelled, train_cfg: dict) -> None:
    """The training data's pixel size and anatomy (:func:`training_scale`) into ``predictor``, which then reads the
    validation images at that pixel size and measures ``scale_error`` against that anatomy; a dataset without
    pixel sizes leaves the model's own (metadata, or its config's dataset)."""
    from zoo.quality.scale import AnatomySize

    mm, anatomy = training_scale(spacings, shapes, labelled, predictor.symbols,
                                 f"{len(shapes)} training annotations ({_describe(train_cfg)})")
    if mm is not None:
        predictor.model_mm, predictor.model_mm_source = mm, "the training data"
    if anatomy is not None:
        predictor.anatomy = AnatomySize.from_dict(anatomy, predictor.symbols)


@dataclass
class Calibration:
    """What :func:`calibrate_with_fallback` made: the quality block (None when nothing could be fitted or borrowed),
    the training images' orientation, and one line per part saying where it came from or why it is missing."""

    quality: QualityModel | None
    facing: dict
    notes: list


def _fallback_quality(fallback, symbols) -> tuple[QualityModel | None, str]:
    """The quality block of the model a fine-tune started from, if it is one this model can use: its shape model
    must cover only landmarks this model finds. Returns it (or None) and why."""
    from zoo.model_zoo import resolve_model
    from zoo.modelfile import checkpoint_meta, is_weights_file, read_meta, safe_load

    path = resolve_model(fallback)
    meta = read_meta(path) if is_weights_file(path) else checkpoint_meta(safe_load(path), path)
    if not meta.get("quality"):
        return None, f"{fallback} carries no quality calibration to borrow"
    quality = QualityModel.from_dict(meta["quality"], list(meta["landmark_symbols"]))
    if quality.shape is not None and not set(quality.shape.symbols) <= set(symbols):
        missing = sorted(set(quality.shape.symbols) - set(symbols))
        return None, (f"{fallback}'s shape model needs landmarks this model does not find ({', '.join(missing)}), "
                      f"so nothing of its calibration applies")
    return quality, ""


def calibrate_with_fallback(model, fallback=None, data_root=None, threads: int | None = None,
                            progress=None) -> Calibration:
    """The quality block of ``model`` from what its own data can give, the rest borrowed from ``fallback`` (the model
    it was fine-tuned from) and what neither gives left out, each part's source written down.

    A handful of annotated images cannot give everything :func:`calibrate_model` asks for: the shape model wants
    10 fully labelled training shapes, the thresholds 8 validation images. Here each part comes from the best
    source there is. The shape model and the thresholds travel together when borrowed, since a shape-distance
    threshold is set on one shape model's distances. The uncertainty is only ever fitted on the model's own
    validation errors: another model's radii would promise a coverage nobody measured. Without thresholds there is
    no verdict (the model says ``unchecked``), whatever else was fitted.
    """
    from zoo.inference import Predictor
    from zoo.modelfile import checkpoint_config

    predictor = Predictor.from_path(model, threads=threads)
    symbols = predictor.symbols
    cfg = checkpoint_config(predictor.meta, model)
    _, shapes, labelled, spacings = dataset_samples_spacings(cfg.train_dataloader.dataset, data_root)
    _set_scale(predictor, spacings, shapes, labelled, cfg.train_dataloader.dataset)
    facing = canonical_orientation(shapes, labelled, symbols)
    notes, sources = [], {}
    borrowed, why_not = _fallback_quality(fallback, symbols) if fallback else (None, "")
    if why_not:
        notes.append(f"nothing borrowed: {why_not}")
    try:
        own_shape, held_out = fit_shape_model(shapes, labelled, symbols)
        shape_problem = ""
    except ShapeModelError as exc:
        anatomy = [s for s in symbols if s not in ("p1", "p2")]
        own_shape, held_out = None, []
        shape_problem = (f"{len(shapes)} training images: {exc}" if len(anatomy) >= 3 else
                         "a shape model needs 3 or more anatomical landmarks, and ruler points are no anatomy")
    val_cfg = (cfg.get("val_dataloader") or {}).get("dataset")
    samples, _, _, val_spacings = dataset_samples_spacings(val_cfg, data_root) if val_cfg else ([], None, None, [])
    enough = len(samples) >= MIN_VALIDATION_IMAGES
    few = (f"{len(samples)} validation images, the thresholds need {MIN_VALIDATION_IMAGES}" if val_cfg
           else "no validation images")
    borrow_gate = not enough and borrowed is not None and bool(borrowed.thresholds)
    if borrow_gate:  # the shape model travels with the thresholds set on its distances
        shape = borrowed.shape
    else:
        shape = own_shape if own_shape is not None else (borrowed.shape if borrowed is not None else None)
    if shape is not None and shape is own_shape:
        sources["shape"] = f"{own_shape.num_shapes} training shapes"
    elif shape is not None:
        sources["shape"] = f"{fallback} ({shape_problem or 'borrowed with its thresholds'})"
    else:
        notes.append(f"no shape model: {shape_problem}")
    reads = read_validation(predictor, shape, samples, progress, val_spacings) if samples else []
    thresholds = {}
    if enough:
        clean = {name: [r.signals[name] for r in reads] for name in reads[0].signals}
        if "shape_distance" in clean and shape is own_shape:
            clean["shape_distance"] += list(held_out)
        thresholds = {name: threshold_for(values, SIGNALS[name][0]) for name, values in clean.items()}
        sources["thresholds"] = f"{len(reads)} validation images"
    elif borrow_gate:
        thresholds = dict(borrowed.thresholds)
        sources["thresholds"] = f"{fallback} ({few})"
    else:
        notes.append(f"no verdict thresholds: {few}; label more images, or start from a calibrated model")
    uncertainty = None
    if reads:
        try:
            uncertainty = UncertaintyModel.fit(np.stack([r.features for r in reads]),
                                               np.stack([r.errors for r in reads]))
            sources["uncertainty"] = f"{len(reads)} validation images"
        except UncertaintyError as exc:
            notes.append(f"no uncertainty radii: {exc}")
    else:
        notes.append("no uncertainty radii: no validation images to measure the errors on")
    if not thresholds and uncertainty is None:
        return Calibration(None, facing, notes)
    errors = np.concatenate([r.errors for r in reads]) if reads else np.array([np.nan])
    info = {"train": _describe(cfg.train_dataloader.dataset), "validation": _describe(val_cfg) if val_cfg else None,
            "validation_images": len(reads), "shape_training_shapes": shape.num_shapes if shape else 0,
            "shape_held_out_distances": len(held_out) if shape is own_shape else 0,
            "validation_mre_px": round(float(np.nanmean(errors)), 3) if reads else None,
            "suspect_sd": SUSPECT_SD, "reject_sd": REJECT_SD, "sources": sources, "notes": list(notes)}
    if predictor.model_mm is not None:
        info["read_mm_per_pixel"] = predictor.model_mm
    quality = QualityModel(shape, thresholds, uncertainty, info, predictor.anatomy, predictor.model_mm)
    if borrow_gate and reads:
        from zoo.quality.gate import OK, judge

        flagged = [r for r in reads if judge(r.signals, thresholds).status != OK]
        notes.append(f"the borrowed gate passes {len(reads) - len(flagged)} of your {len(reads)} validation images"
                     + (" (the others are flagged: label more images so the thresholds are fitted on yours)"
                        if flagged else ""))
        info["notes"] = list(notes)
    return Calibration(quality, facing, notes)


def _describe(ds: dict) -> str:
    def shown(key):
        value = ds[key]
        return f"{len(value)} chosen images" if isinstance(value, (list, tuple)) else f"{key}={value}"

    parts = [str(ds.get("type"))] + [shown(k) for k in ("split", "indices", "annotator") if ds.get(k)]
    return " ".join(parts)


def write_calibrated(model_path, out, data_root=None, threads: int | None = None, progress=None, fallback=None):
    """``model_path`` (a checkpoint or weights file) copied to ``out`` with its quality block; returns
    ``(out, quality)``. The weights are not touched: a weights file keeps its stored tensors byte for byte.

    With ``fallback`` (a model name or file, the model this one was fine-tuned from) what the model's own data
    cannot give is borrowed from it (:func:`calibrate_with_fallback`, the notes in ``quality.calibrated_on``);
    when nothing can be fitted or borrowed, a :class:`CalibrationError` lists what is missing."""
    from pathlib import Path

    from zoo.inference.backends import is_exported
    from zoo.modelfile.weights import is_weights_file

    model_path, out = Path(model_path), Path(out)
    if is_exported(model_path):
        raise CalibrationError(f"{model_path} is an exported graph; calibrate the checkpoint or weights file it came "
                               f"from, then export that again (the export carries the calibration)")
    if is_weights_file(model_path) != is_weights_file(out) or out.resolve() == model_path.resolve():
        raise CalibrationError(f"--out must be a new file of the same kind as {model_path.name} "
                               f"({model_path.suffix}), got {out.name}")
    if fallback is None:
        quality, facing = calibrate_model(model_path, data_root, threads, progress)
    else:
        made = calibrate_with_fallback(model_path, fallback, data_root, threads, progress)
        if made.quality is None:
            raise CalibrationError(f"{model_path}: nothing to calibrate with: " + "; ".join(made.notes))
        quality, facing = made.quality, made.facing
    return write_quality(model_path, out, quality, facing), quality


def write_quality(model_path, out, quality: QualityModel, facing: dict):
    """``model_path`` copied to ``out`` (the same kind of file) with ``quality`` and the training orientation in its
    metadata; the weights untouched. Returns ``out``."""
    from pathlib import Path

    from zoo.modelfile import safe_load, save_checkpoint
    from zoo.modelfile.weights import is_weights_file, read_meta, with_meta

    model_path, out = Path(model_path), Path(out)
    added = {"quality": quality.to_dict(), "canonical_orientation": facing}
    if quality.anatomy is not None:
        added["anatomy"] = quality.anatomy.to_dict()

    def scaled(meta: dict) -> dict:
        """The pixel size the model was calibrated (and trained) at, in its preprocessing (#39)."""
        meta = {**meta, **added}
        if quality.model_mm_per_pixel is not None:
            meta["preprocess"] = {**meta["preprocess"], "train_mm_per_pixel": float(quality.model_mm_per_pixel)}
        return meta

    if is_weights_file(model_path):
        return with_meta(model_path, scaled(read_meta(model_path)), out)
    checkpoint = safe_load(model_path)
    checkpoint["zoo_meta"] = scaled(checkpoint["zoo_meta"])
    return save_checkpoint(checkpoint, out)
