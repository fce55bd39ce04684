"""What an exported file says about itself, so a runtime without the zoo can use it correctly.

ONNX files carry the full ``zoo_meta`` JSON under the key ``zoo_meta`` in ``metadata_props`` (what
``zoo.inference.OnnxBackend`` reads), plus a few flat keys a person or another runtime can read without
parsing it: the landmark symbols, the preprocessing, the pixel-spacing rule and a plain-text recipe.
TorchScript files carry the same JSON as the extra file ``zoo_meta.json``.
"""
from __future__ import annotations

import json
from pathlib import Path

from .meta import META_KEY


def export_meta(meta: dict, fmt: str, **info) -> dict:
    """``meta`` plus an ``export`` block saying how this file was made (format, versions, calibration)."""
    import torch

    from zoo.version import __version__

    block = {"format": fmt, "torch_version": torch.__version__, "zoo_version": __version__}
    try:
        import onnxruntime

        block["onnxruntime_version"] = onnxruntime.__version__
    except ImportError:  # pragma: no cover - a dependency
        pass
    block.update(info)
    return {**meta, "export": block}


def spacing_rule(meta: dict) -> str:
    """How to turn pixels into millimetres with this model, in words."""
    symbols = set(meta.get("landmark_symbols", ()))
    ruler_mm = meta.get("ruler_mm")
    if {"p1", "p2"} <= symbols:
        known = f"{ruler_mm} mm (from the model's metadata)" if ruler_mm else "given by the user (--ruler-mm)"
        return (f"mm per pixel = ruler length / distance between predicted p1 and p2 in original pixels; "
                f"ruler length {known}; otherwise the image's own pixel spacing")
    return "the model has no ruler landmarks: mm per pixel must come from the image (DICOM/scanner spacing)"


def readme(meta: dict) -> str:
    """A plain-text recipe for running the model by hand, from its own preprocessing."""
    pre = meta["preprocess"]
    w, h = pre["input_size"]
    colour = "RGB" if int(pre["channels"]) == 3 else "grayscale"
    return (
        f"Input 'input': float32 (N, {pre['channels']}, {h}, {w}). Decode the image as {colour} uint8 "
        f"(16-bit: rescale by the image's own min..max), letterbox it to {w}x{h}: scale s = min({w}/W, {h}/H), "
        f"resize to round(W*s) x round(H*s) (INTER_AREA when shrinking), paste centred on a canvas filled with "
        f"{pre['pad_value']:g}; then (pixel - mean) / std per channel on the 0-255 scale with mean={pre['mean']} "
        f"std={pre['std']}; HWC -> CHW. Outputs: 'coords' (N, K, 2) x, y in input pixels (integer = pixel "
        f"centre) and 'scores' (N, K) confidences; K landmarks in the order of 'landmark_symbols'. Map back: "
        f"x_orig = (x - left + 0.5) / sx - 0.5 with sx = resized width / W (same for y). "
        f"Spacing: {spacing_rule(meta)}."
    )


def orientation_text(meta: dict) -> str:
    """The orientation the model reads images in, in words (``zoo checkpoint calibrate`` records it)."""
    facing = meta.get("canonical_orientation")
    if not facing:
        return "not recorded (calibrate the model with `zoo checkpoint calibrate`)"
    upright = {True: "upright", False: "upside down", None: "up direction unknown"}[facing.get("upright")]
    return (f"as its training images: profile facing {facing['profile_faces']}, {upright}; the zoo's predictor "
            f"finds mirrored and quarter-turned images and reads them in this orientation")


def onnx_props(meta: dict) -> dict[str, str]:
    """The ``metadata_props`` entries of an exported ONNX file."""
    return {
        META_KEY: json.dumps(meta),
        "landmark_set": str(meta["landmark_set"]),
        "landmark_symbols": ",".join(meta["landmark_symbols"]),
        "preprocess": json.dumps(meta["preprocess"]),
        "spacing_rule": spacing_rule(meta),
        "ruler_mm": "" if meta.get("ruler_mm") is None else str(meta["ruler_mm"]),
        "readme": readme(meta),
        "canonical_orientation": orientation_text(meta),
    }


def stamp_onnx(path: str | Path, meta: dict) -> None:
    """Write ``meta`` into an ONNX file's ``metadata_props`` (replacing earlier zoo keys), in place."""
    import onnx

    path = Path(path)
    model = onnx.load(str(path))
    props = onnx_props(meta)
    keep = [p for p in model.metadata_props if p.key not in props]
    del model.metadata_props[:]
    model.metadata_props.extend(keep)
    for key, value in props.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    model.producer_name = "ceph-zoo"
    model.doc_string = readme(meta)
    onnx.save(model, str(path))


def read_onnx_meta(path: str | Path) -> dict | None:
    """The ``zoo_meta`` of an ONNX file (parsed, not yet checked), or None."""
    import onnx

    from .errors import ModelFileError
    from .json_text import parse_json

    model = onnx.load(str(path), load_external_data=False)
    for prop in model.metadata_props:
        if prop.key == META_KEY:
            return parse_json(prop.value, f"{path}: its {META_KEY} metadata", ModelFileError)
    return None
