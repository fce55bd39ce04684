"""Registries, the plugin contract and the plugin loader. Nothing here imports a component."""
from ._errors import UnknownComponentError, ZooError
from .hookspecs import ENTRY_POINT_GROUP, hookimpl
from .plugins import (
    ORIGINS,
    PLUGINS,
    ZooPluginWarning,
    load_plugins,
    origin_of,
    register_plugin,
    registered_names,
)
from .registries import (
    ALL,
    BACKBONES,
    DATASETS,
    DECODERS,
    EXPORTERS,
    HEADS,
    HOOKS,
    LOSSES,
    METRICS,
    MODELS,
    NECKS,
    TRANSFORMS,
)

__all__ = [
    "ALL", "BACKBONES", "DATASETS", "DECODERS", "ENTRY_POINT_GROUP", "EXPORTERS", "HEADS", "HOOKS",
    "LOSSES", "METRICS", "MODELS", "NECKS", "ORIGINS", "PLUGINS", "TRANSFORMS", "UnknownComponentError",
    "ZooError", "ZooPluginWarning", "hookimpl", "load_plugins", "origin_of", "register_plugin", "registered_names",
]
