"""``zoo_meta``: what every model file must carry so that inference never guesses, and the check that it is sane.

``zoo_meta`` is plain data: the model's config (:mod:`zoo.modelfile.stored_config`), landmark set and symbols, and
the preprocessing spelled out -- input size, letterbox, channels, mean/std -- read from the test pipeline and
the model's data preprocessor; since #39 also the pixel size the model was trained at
(``preprocess.train_mm_per_pixel``) and its training anatomy's size (``anatomy``), both optional, which the
training hook and ``zoo checkpoint calibrate`` derive from the training data. The predictor reads only this, so
:func:`check_meta` runs whenever a model file is opened: a file whose metadata asks for a 100000 px input or a
zero std is refused there, with the reason, instead of answering "ok" and then failing (or allocating tens of GB)
on the first request.
"""
from __future__ import annotations

import math
import re

from .errors import MetadataError, ModelFileError
from .stored_config import FORMAT, config_to_data

META_KEY = "zoo_meta"

#: bounds of what a model file may ask for; far beyond any cephalometric model, far below an allocation
#: that would take a machine down (a 4096 x 4096 x 3 float32 input is 200 MB)
MAX_LANDMARKS = 512
#: a side of 4096 px asked 3.8 GB and over 5 minutes per image of an HRNet; 2048 is 2.7x the largest recipe (768)
MAX_INPUT_SIDE = 2048
MIN_INPUT_SIDE = 8
MAX_PATCH_SIDE = 1024
MAX_REFINE_ITERS = 16
MAX_VIEWS = 64
MAX_MEMBERS = 32
MAX_RULER_MM = 1000.0
#: a sibling file's name (spaces allowed, as in any user's folder): no folder part, no leading dot, so a model
#: file can only point beside itself
_FILE_NAME = re.compile(r"[^/\\.\x00-\x1f][^/\\\x00-\x1f]{0,254}")


def _find(pipeline, type_name):
    for step in pipeline or []:
        if isinstance(step, dict) and step.get("type") == type_name:
            return step
    return None


def preprocess_from_config(cfg) -> dict:
    """The exact preprocessing of the config's test pipeline and data preprocessor."""
    pipeline = cfg.get("test_pipeline") or cfg.test_dataloader.dataset.get("pipeline")
    letterbox = _find(pipeline, "LetterboxResize")
    if letterbox is None:
        raise MetadataError("the test pipeline has no LetterboxResize step, so the input size is unknown")
    load = _find(pipeline, "LoadCephalogram") or {}
    pre = cfg.model.get("data_preprocessor") or {}
    if "mean" not in pre or "std" not in pre:
        raise MetadataError("model.data_preprocessor must state mean and std explicitly")
    size = letterbox["size"]
    return {
        "input_size": [int(size[0]), int(size[1])],  # (W, H)
        "letterbox": True,
        "pad_value": float(letterbox.get("pad_value", 0)),
        "channels": int(load.get("channels", 3)),
        "mean": [float(v) for v in pre["mean"]],
        "std": [float(v) for v in pre["std"]],
        "value_range": 255.0,
    }


def build_zoo_meta(cfg, model) -> dict:
    """Everything inference needs, as plain data."""
    from zoo.version import __version__

    meta = {
        "format": FORMAT,
        "zoo_version": __version__,
        "model_type": cfg.model["type"],
        "landmark_set": str(model.landmark_set),
        "landmark_symbols": list(model.landmark_symbols),
        "preprocess": preprocess_from_config(cfg),
        # a model class may build its own decoder (HRNet31HeatmapDetector): record what it really uses
        "decoder": dict(cfg.model.get("decoder") or {"type": type(model.decoder).__name__}),
        "ruler_mm": cfg.get("ruler_mm"),
        "config": config_to_data(cfg),
    }
    if hasattr(model, "refine_spec"):  # two-stage: how the predictor crops and normalises the patches
        meta["refine"] = model.refine_spec().to_dict()
    if hasattr(model, "members"):  # an ensemble: the predictor runs each member (refining its own way), then averages
        meta["members"] = [{"model_type": type(m).__name__,
                            **({"refine": m.refine_spec().to_dict()} if hasattr(m, "refine_spec") else {})}
                           for m in model.members]
    return meta


def check_meta(meta, source) -> dict:
    """``meta`` when every field inference relies on is present and within bounds; else a
    :class:`MetadataError` naming the file and the field."""
    if not isinstance(meta, dict):
        raise MetadataError(f"{source}: its zoo metadata is a {type(meta).__name__}, not a dict")

    def fail(what: str):
        raise MetadataError(f"{source}: {what}; the model file is damaged or was not written by the zoo")

    symbols = meta.get("landmark_symbols")
    if not isinstance(symbols, list) or not 1 <= len(symbols) <= MAX_LANDMARKS:
        fail(f"landmark_symbols must list 1 to {MAX_LANDMARKS} names, got "
             f"{len(symbols) if isinstance(symbols, list) else type(symbols).__name__}")
    if not all(isinstance(s, str) and 0 < len(s) <= 64 for s in symbols) or len(set(symbols)) != len(symbols):
        fail("landmark_symbols must be distinct non-empty names")
    if not isinstance(meta.get("landmark_set"), str):
        fail("landmark_set must be a name")
    _check_preprocess(meta.get("preprocess"), fail)
    ruler = meta.get("ruler_mm")
    if ruler is not None and not (_number(ruler) and 0 < ruler <= MAX_RULER_MM):
        fail(f"ruler_mm must be a length in (0, {MAX_RULER_MM:g}] mm or absent, got {ruler!r}")
    if meta.get("refine") is not None:
        _check_refine(meta["refine"], "refine", fail)
    members = meta.get("members")
    if members is not None:
        if not isinstance(members, list) or not 2 <= len(members) <= MAX_MEMBERS:
            fail(f"members must list 2 to {MAX_MEMBERS} detectors")
        for i, member in enumerate(members):
            if not isinstance(member, dict):
                fail(f"members[{i}] is not a dict")
            if member.get("refine") is not None:
                _check_refine(member["refine"], f"members[{i}].refine", fail)
    facing = meta.get("canonical_orientation")
    if facing is not None and not (isinstance(facing, dict)
                                   and facing.get("profile_faces") in ("right", "left", "unknown")
                                   and facing.get("upright") in (True, False, None)):
        fail(f"canonical_orientation must say profile_faces right/left/unknown and upright true/false/null, "
             f"got {facing!r}")
    if meta.get("anatomy") is not None:
        from zoo.quality.scale import AnatomyError, AnatomySize

        try:
            AnatomySize.from_dict(meta["anatomy"], symbols)
        except AnatomyError as exc:
            fail(f"anatomy: {exc}")
    if meta.get("quality") is not None:
        from zoo.quality import QualityError, QualityModel

        try:
            QualityModel.from_dict(meta["quality"], symbols)
        except QualityError as exc:
            fail(f"quality: {exc}")
    return meta


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _side(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and MIN_INPUT_SIDE <= value <= MAX_INPUT_SIDE


def _check_preprocess(pre, fail) -> None:
    if not isinstance(pre, dict):
        fail("preprocess is missing")
    size = pre.get("input_size")
    if not (isinstance(size, (list, tuple)) and len(size) == 2 and all(_side(v) for v in size)):
        fail(f"input_size must be [width, height], each {MIN_INPUT_SIDE}..{MAX_INPUT_SIDE} px, got {size!r}")
    channels = pre.get("channels")
    if channels not in (1, 3) or isinstance(channels, bool):
        fail(f"channels must be 1 or 3, got {channels!r}")
    _check_normalisation(pre.get("mean"), pre.get("std"), channels, "preprocess", fail)
    if not (_number(pre.get("pad_value")) and 0 <= pre["pad_value"] <= 255):
        fail(f"pad_value must be a pixel value 0..255, got {pre.get('pad_value')!r}")
    if "value_range" in pre and not (_number(pre["value_range"]) and pre["value_range"] > 0):
        fail(f"value_range must be positive, got {pre['value_range']!r}")
    if pre.get("train_mm_per_pixel") is not None:  # written since #39; older files derive it from their config
        from zoo.data.spacing import spacing_problem

        problem = spacing_problem(pre["train_mm_per_pixel"])
        if problem is not None:
            fail(f"preprocess.train_mm_per_pixel {problem}")


def _check_normalisation(mean, std, channels: int, where: str, fail) -> None:
    for name, values in (("mean", mean), ("std", std)):
        if not (isinstance(values, (list, tuple)) and len(values) == channels and all(_number(v) for v in values)):
            fail(f"{where}.{name} must be {channels} finite number(s), got {values!r}")
    if not all(abs(v) >= 1e-6 for v in std):
        fail(f"{where}.std must be non-zero (normalising divides by it), got {std!r}")


def _check_refine(refine, where: str, fail) -> None:
    if not isinstance(refine, dict):
        fail(f"{where} is not a dict")
    size = refine.get("patch_size")
    if not (isinstance(size, int) and not isinstance(size, bool) and MIN_INPUT_SIDE <= size <= MAX_PATCH_SIDE):
        fail(f"{where}.patch_size must be {MIN_INPUT_SIDE}..{MAX_PATCH_SIDE} px, got {size!r}")
    scale = refine.get("patch_scale")
    if not (_number(scale) and 0 < scale <= 64):
        fail(f"{where}.patch_scale must be in (0, 64] original px per patch px, got {scale!r}")
    iters = refine.get("iters", 1)
    if not (isinstance(iters, int) and not isinstance(iters, bool) and 0 <= iters <= MAX_REFINE_ITERS):
        fail(f"{where}.iters must be 0..{MAX_REFINE_ITERS}, got {iters!r}")
    channels = refine.get("channels", 3)
    if channels not in (1, 3) or isinstance(channels, bool):
        fail(f"{where}.channels must be 1 or 3, got {channels!r}")
    if "mean" in refine or "std" in refine:
        _check_normalisation(refine.get("mean"), refine.get("std"), channels, where, fail)
    views = refine.get("views")
    if views is not None and not (isinstance(views, list) and 1 <= len(views) <= MAX_VIEWS):
        fail(f"{where}.views must list 1 to {MAX_VIEWS} views")
    context = refine.get("context") or []
    if not (isinstance(context, list) and len(context) <= 2 and all(_number(v) and 0 < v <= 64 for v in context)):
        fail(f"{where}.context must be at most 2 multipliers in (0, 64], got {context!r}")
    graph = refine.get("graph")
    if graph is not None and not (isinstance(graph, str) and _FILE_NAME.fullmatch(graph)):
        fail(f"{where}.graph must be the file name of the refine graph beside this one (no folders), got {graph!r}")
    if refine.get("aggregate", "mean") not in ("mean", "median"):
        fail(f"{where}.aggregate must be 'mean' or 'median', got {refine.get('aggregate')!r}")
    rule = refine.get("shape_decoding")
    if rule is not None:
        limit = rule.get("max_outliers") if isinstance(rule, dict) else None
        ok = (isinstance(rule, dict) and set(rule) <= {"threshold", "max_outliers"}
              and _number(rule.get("threshold")) and 0 < rule["threshold"] <= 1e3
              and (limit is None or (isinstance(limit, int) and not isinstance(limit, bool) and 1 <= limit <= 1000)))
        if not ok:
            fail(f"{where}.shape_decoding must be dict(threshold=0..1000, max_outliers=None or 1..1000), got {rule!r}")


def checkpoint_meta(checkpoint: dict, path) -> dict:
    """A loaded checkpoint's ``zoo_meta``, checked before anything trusts it."""
    meta = checkpoint.get(META_KEY) if isinstance(checkpoint, dict) else None
    if not meta:
        raise ModelFileError(
            f"{path} has no zoo metadata (preprocessing, landmark names), so inference would have to guess; "
            f"use a checkpoint saved by `zoo train`, or export one from it")
    return check_meta(meta, path)


def exported_meta(text, path) -> dict:
    """The ``zoo_meta`` JSON an exported file carries, parsed and checked."""
    from .json_text import parse_json

    return check_meta(parse_json(text, f"{path}: its {META_KEY} metadata", ModelFileError), path)
