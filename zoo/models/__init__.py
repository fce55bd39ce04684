"""The detectors that join the parts (single- and two-stage), and their data preprocessor. Importing
registers them."""

from . import data_preprocessor, detector, two_stage  # noqa: F401
