"""Does the model's answer deserve trust? Image-level verdicts and per-landmark uncertainty, without ground truth.

Data flow: a :class:`Reading` (the predictor's answer in the model's orientation) -> the signals
(:func:`image_signals`: shape plausibility, heatmap confidence, agreement of the refine views, the anatomy's size at
the scale it was read at) -> a
:class:`Verdict` (ok / suspect / reject, with reasons) and per-landmark radii, both calibrated per model
(:class:`QualityModel`, stored in ``zoo_meta['quality']`` by ``zoo checkpoint calibrate``).
"""
from .gate import OK, REJECT, SIGNALS, SUSPECT, UNCHECKED, QualityError, Verdict, image_signals, judge
from .model import QualityModel, Reading, unchecked
from .scale import AnatomyError, AnatomySize, constellation_size
from .shape import ShapeModel, ShapeModelError
from .uncertainty import UncertaintyModel

__all__ = ["OK", "REJECT", "SIGNALS", "SUSPECT", "UNCHECKED", "AnatomyError", "AnatomySize", "QualityError",
           "QualityModel", "Reading", "ShapeModel", "ShapeModelError", "UncertaintyModel", "Verdict",
           "constellation_size", "image_signals", "judge", "unchecked"]
