"""Shape-constrained decoding: a landmark the others cannot explain is looked for again where they put it.

A two-stage model's gross errors are single landmarks gone astray (the global stage's peak on the wrong edge, the
refine stage pulled onto a neighbouring structure) while the rest of the skull is read well. The shape model that
the quality gate fits on the training annotations (:mod:`zoo.quality.shape`) knows where each landmark lies given
the others (:mod:`zoo.quality.shape_conditional`). After the refine stage, the landmarks it finds too surprising
(beyond ``threshold`` conditional standard deviations, judged one at a time, worst first) are refined again from
the place the others give them, and the new answer is kept when it fits the shape better than the old one.

It runs around the refine graph (the predictor, ``zoo test`` and every exported model alike) and costs one more
refine batch, only for an image that has such a landmark. The rule travels in the model file with the refine
settings (``zoo_meta['refine']['shape_decoding']``); the shape model is the file's quality block, so a model
without one (never calibrated) decodes as before.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from zoo.errors import ModelConfigError

KEYS = ("threshold", "max_outliers")


@dataclass(frozen=True)
class ShapeDecoding:
    """``threshold``: the surprise (a 2-D Mahalanobis distance, about 1 for a typical landmark) beyond which a
    landmark is looked for again; ``max_outliers``: at most this many per image (None: a third of them)."""

    threshold: float = 4.0
    max_outliers: int | None = None

    @classmethod
    def parse(cls, cfg) -> ShapeDecoding | None:
        """A config's ``shape_decoding`` (None or False: off; True: the defaults; a dict of :data:`KEYS`)."""
        if cfg is None or cfg is False:
            return None
        if cfg is True:
            return cls()
        if isinstance(cfg, ShapeDecoding):
            return cfg
        if not isinstance(cfg, dict) or set(cfg) - set(KEYS):
            raise ModelConfigError(f"shape_decoding must be None, True or dict(threshold=..., max_outliers=...), "
                                   f"got {cfg!r}")
        threshold = float(cfg.get("threshold", cls.threshold))
        limit = cfg.get("max_outliers")
        if not threshold > 0 or (limit is not None and int(limit) < 1):
            raise ModelConfigError(f"shape_decoding: threshold must be > 0 and max_outliers >= 1, got {cfg!r}")
        return cls(threshold, None if limit is None else int(limit))

    def to_dict(self) -> dict:
        return asdict(self)


def reconsider(first, shape_model, symbols, rule: ShapeDecoding, refine_from):
    """One image's refined landmarks with the off-shape ones looked for again.

    Args:
        first: the refine stage's answer, a :class:`zoo.models.refinement.Refined` (or anything with ``coords``,
            ``scores``, ``refined`` and ``spread``), in a frame where the shape model judges (the model's px).
        shape_model: :class:`zoo.quality.shape.ShapeModel` over a subset of ``symbols``.
        refine_from: (K, 2) patch centres -> the refine stage's answer from there (the same kind as ``first``).

    Returns:
        ``(answer, looked_at)``: ``first`` with the landmarks whose second answer fits the shape better replaced
        (coordinates, score, spread), and per landmark looked at ``(symbol, surprise before, after, replaced)``.
    """
    from zoo.quality.shape_conditional import conditional, outliers

    index = np.asarray([list(symbols).index(s) for s in shape_model.symbols])
    subset = np.asarray(first.coords, np.float64)[index]
    out = outliers(shape_model, subset, rule.threshold, rule.max_outliers)
    if not out:
        return first, []
    known = np.ones(len(index), bool)
    known[out] = False
    given_others = conditional(shape_model, subset, known)
    centres = np.asarray(first.coords, np.float64).copy()
    centres[index[out]] = given_others.estimate[out]
    second = refine_from(centres)
    candidate = subset.copy()
    candidate[out] = np.asarray(second.coords, np.float64)[index[out]]
    before, after = given_others.surprise(subset), given_others.surprise(candidate)
    better = [o for o in out if after[o] < before[o]]
    fields = {name: np.array(getattr(first, name), copy=True) for name in ("coords", "scores", "refined", "spread")}
    for name, values in fields.items():
        values[index[better]] = np.asarray(getattr(second, name))[index[better]]
    looked_at = [(shape_model.symbols[o], float(before[o]), float(after[o]), o in better) for o in out]
    return type(first)(**fields), looked_at
