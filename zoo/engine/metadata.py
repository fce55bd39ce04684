"""What a checkpoint must carry so that inference never guesses (SEEDS.md, note C).

``zoo_meta`` is plain data (JSON-able): the resolved config text, landmark set and symbols, and the
preprocessing spelled out -- input size, letterbox, channels, mean/std -- read from the test pipeline and
the model's data preprocessor. The predictor reads only this.
"""
from __future__ import annotations

from zoo.registry import ZooError


class MetadataError(ZooError):
    """A checkpoint or config does not say how to preprocess its input."""


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
    import zoo

    meta = {
        "format": 1,
        "zoo_version": zoo.__version__,
        "model_type": cfg.model["type"],
        "landmark_set": str(model.landmark_set),
        "landmark_symbols": list(model.landmark_symbols),
        "preprocess": preprocess_from_config(cfg),
        # a model class may build its own decoder (HRNet31HeatmapDetector): record what it really uses
        "decoder": dict(cfg.model.get("decoder") or {"type": type(model.decoder).__name__}),
        "ruler_mm": cfg.get("ruler_mm"),
        "config": cfg.pretty_text,
    }
    if hasattr(model, "refine_spec"):  # two-stage: how the predictor crops and normalises the patches
        meta["refine"] = model.refine_spec().to_dict()
    if hasattr(model, "members"):  # an ensemble: the predictor runs each member (refining its own way), then averages
        meta["members"] = [{"model_type": type(m).__name__,
                            **({"refine": m.refine_spec().to_dict()} if hasattr(m, "refine_spec") else {})}
                           for m in model.members]
    return meta
