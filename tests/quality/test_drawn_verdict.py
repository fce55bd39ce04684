"""Pictures say what the verdict says: a rejected image is labelled across its top, and each landmark's
uncertainty radius is drawn around it."""
from __future__ import annotations

import numpy as np

from zoo.inference.drawing import draw_landmarks


def entry(status, radius=None):
    lm = {"x": 500.0, "y": 600.0, "confidence": 0.9, "low_confidence": False}
    if radius:
        lm["uncertainty_px"] = radius
    return {"landmarks": {"S": lm}, "quality": {"status": status, "reasons": [], "signals": {}}}


def red(canvas):
    return (canvas[..., 2] > 200) & (canvas[..., 1] < 80) & (canvas[..., 0] < 80)


def test_a_rejected_image_is_labelled_and_an_ok_one_is_not():
    gray = np.full((1000, 800), 90, np.uint8)
    top = slice(0, 80)
    assert red(draw_landmarks(gray, entry("reject")))[top].sum() > 500
    assert red(draw_landmarks(gray, entry("ok")))[top].sum() == 0


def test_the_uncertainty_radius_is_drawn():
    gray = np.full((1000, 800), 90, np.uint8)
    with_radius = draw_landmarks(gray, entry("ok", radius=100.0))
    without = draw_landmarks(gray, entry("ok"))
    above = slice(495, 506)  # the ring passes 100 px above the landmark at (500, 600)
    assert (with_radius[500, above] != without[500, above]).any()
