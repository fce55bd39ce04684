"""The detectors that join the parts (single- and two-stage, and ensembles of them), and their data
preprocessor. Importing registers them."""

from . import data_preprocessor, detector, ensemble, two_stage  # noqa: F401
