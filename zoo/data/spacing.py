"""The pixel sizes a cephalogram can have, and the one check every way a spacing comes in goes through.

A spacing multiplies every mm figure: 5e-324 mm/px (accepted before, as "positive") turns a 70 mm face
height into 0 mm, 1e9 mm/px into kilometres, and nothing downstream notices. The range is physical, not a
guess about the data: a lateral cephalogram spans 100-450 mm (``zoo.clinical.calibration``), so

- at 0.01 mm/px (10 micrometres) the 100 mm it spans at the least would be 10000 px, an image of some
  80 MP or more, at the pixel caps; detector pixels are 0.07-0.2 mm, and a film scanned at 1200 dpi is
  0.021 mm/px;
- 5 mm/px would leave the whole skull about 50 px across, too coarse to place any landmark; downsampled
  copies (a 640 px wide synthetic film is ~0.4 mm/px, ISBI 2015 0.1) are far inside.

The data layer holds it because datasets read spacings too; the CLI, the Python API, the predictor and the
server import it from here.
"""
from __future__ import annotations

import math

from .errors import SpacingError

#: inclusive bounds of a pixel spacing in mm per pixel (see the module's text for why)
SPACING_RANGE_MM = (0.01, 5.0)


def spacing_problem(value) -> str | None:
    """Why ``value`` cannot be a pixel spacing in mm, or None when it can."""
    lo, hi = SPACING_RANGE_MM
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"must be a number of mm per pixel, got {value!r}"
    if not math.isfinite(value) or not lo <= value <= hi:
        return (f"must be between {lo:g} and {hi:g} mm per pixel (a cephalogram's detector or scan), "
                f"got {value!r}")
    return None


def check_spacing(value, what: str = "spacing_mm") -> float:
    """``value`` as a float when it is a physical pixel spacing; else :class:`SpacingError` naming ``what``
    (the option, field or file it came from) and the range."""
    problem = spacing_problem(value)
    if problem is not None:
        raise SpacingError(f"{what} {problem}")
    return float(value)
