"""The detector that joins the parts, and its data preprocessor. Importing registers both."""

from . import data_preprocessor, detector  # noqa: F401
