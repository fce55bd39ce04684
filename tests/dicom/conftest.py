"""Fixtures of tests/dicom live in dicom_helpers.py, importable by a unique name (a bare `conftest` module would
collide with the other test folders' conftests in one pytest run)."""
from dicom_helpers import *  # noqa: F401,F403
