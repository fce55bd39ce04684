"""Imported by every zoo registry on its first lookup (mmengine's ``locations``)."""
from .plugins import load_plugins

load_plugins()
