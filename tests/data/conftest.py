"""Fixtures of tests/data live in data_helpers.py, importable by a unique name (a bare `conftest` module
would collide with the other test folders' conftests in one pytest run)."""
from data_helpers import *  # noqa: F401,F403
