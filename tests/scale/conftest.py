"""Fixtures of tests/scale live in scale_helpers.py, importable by a unique name (a bare `conftest` module would
collide with the other test folders' conftests in one pytest run)."""
from scale_helpers import big_ceph, small_ceph  # noqa: F401
