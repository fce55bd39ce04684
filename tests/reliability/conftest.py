"""Fixtures of tests/reliability live in reliability_helpers.py, importable by a unique name (a bare `conftest` module
would collide with the other test folders' conftests in one pytest run)."""
from reliability_helpers import *  # noqa: F401,F403
