"""Model configs of older model files, rewritten into the current form: plain data in, plain data out.

A model file carries the config its network was built from (``zoo_meta['config']['model']``). Up to format 2
the 31-landmark detector, ``HRNet31HeatmapDetector``, took keywords (``arch``, ``input_size``,
``heatmap_size``, ``sigma``, ...) and merged its own defaults into whatever backbone, neck, head, decoder and
loss it was given; from format 3 a config names every part and the detector builds exactly those. A file of
format 2 or older is read with each such detector's parts written out as that code made them, its defaults
included, so it rebuilds the same network (the same state-dict keys and shapes), targets and decoding.

The other detectors never merged defaults into their parts: ``LandmarkDetector`` only puts an
``IdentityNeck`` where no neck is named, ``TwoStageDetector`` gives a stage without a ``type`` the
``LandmarkDetector`` type and its own landmark set, ``EnsembleDetector`` its members its landmark set, and all
of them still do. Their configs need nothing.

This runs on data read from a file before anything is built, so it imports nothing of the zoo but its errors,
and it must not change when the components do.
"""
from __future__ import annotations

import copy

from zoo.errors import ModelConfigError

#: the last format whose configs may rely on parts a detector filled in by code
LAST_MERGING_FORMAT = 2
#: ``HRNet31HeatmapDetector``'s keywords and their defaults up to format 2 (its ``landmark_set`` default,
#: ``ceph31``, is still the detector's own, and a two-stage model still gives its stages its own, so it stays)
HRNET31_KEYWORDS = dict(arch="hrnet_w32", input_size=768, heatmap_size=384, sigma=1.5, coord_weight=5.0,
                        focal_weight=0.1, soft_argmax_beta=20.0, head_channels=64, in_channels=3,
                        pretrained=False)


def upgrade_model_config(model_cfg: dict, meta_format: int) -> dict:
    """``model_cfg`` (a model file's ``zoo_meta['config']['model']``) in the current form, as a new dict.

    For ``meta_format`` <= 2, every ``HRNet31HeatmapDetector`` in it (the model itself, a two-stage model's
    stage, an ensemble's member) gets the parts its keywords and the old defaults made, each merged with the
    part the config gave as the old code merged them (the given keys win); its keywords are dropped. Newer
    formats, and every other detector, come back unchanged. Raises ``ModelConfigError`` for values the old
    detector refused.
    """
    model_cfg = copy.deepcopy(model_cfg)
    if meta_format > LAST_MERGING_FORMAT:
        return model_cfg
    return _upgrade(model_cfg, "model")


def _upgrade(value, where: str):
    if isinstance(value, (list, tuple)):
        return type(value)(_upgrade(v, f"{where}[{i}]") for i, v in enumerate(value))
    if not isinstance(value, dict):
        return value
    value = {k: _upgrade(v, f"{where}.{k}") for k, v in value.items()}  # stages and members first
    return _hrnet31_parts(value, where) if value.get("type") == "HRNet31HeatmapDetector" else value


def _merge(default: dict, given, what: str) -> dict:
    """The old detector's merge: its default part, the given part's keys over it."""
    if given is None:
        return default
    if not isinstance(given, dict):
        raise ModelConfigError(f"{what} must be a dict, got {type(given).__name__}.")
    return dict(default, **given)


def _hrnet31_parts(cfg: dict, where: str) -> dict:
    kw = {name: cfg.pop(name, default) for name, default in HRNET31_KEYWORDS.items()}
    size, heatmap = kw["input_size"], kw["heatmap_size"]
    sizes_ok = all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in (size, heatmap))
    if not sizes_ok or size % heatmap or size // heatmap not in (1, 2, 4):
        raise ModelConfigError(f"{where}: HRNet31HeatmapDetector's input_size {size!r} / heatmap_size "
                               f"{heatmap!r} must be 1, 2 or 4; the detector that wrote this file refused "
                               f"them too.")
    sigma = kw["sigma"]
    parts = dict(
        backbone=dict(type="HRNetBackbone", arch=kw["arch"], in_channels=kw["in_channels"],
                      pretrained=kw["pretrained"]),
        neck=dict(type="HRNetV2Neck"),
        head=dict(type="HeatmapHead", output_stride=size // heatmap, sigma=sigma,
                  channels=kw["head_channels"]),
        decoder=dict(type="DarkDecoder", blur_sigma=sigma),
        loss=dict(type="CombinedHeatmapCoordLoss", heatmap_loss=dict(type="HeatmapMSELoss"),
                  coord_loss=dict(type="L1CoordLoss"), coord_weight=kw["coord_weight"],
                  focal_weight=kw["focal_weight"], soft_argmax_beta=kw["soft_argmax_beta"]),
    )
    for name, default in parts.items():
        cfg[name] = _merge(default, cfg.get(name), f"{where}.{name}")
    return cfg
