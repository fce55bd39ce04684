"""Necks: what sits between a backbone's feature list and a head. Importing registers them."""

from . import hrnetv2, identity  # noqa: F401
