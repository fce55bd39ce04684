"""The plugin contract: one hook. Outside authors code against exactly these names."""
from __future__ import annotations

import pluggy

PROJECT = "zoo"
ENTRY_POINT_GROUP = "zoo.plugins"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def zoo_register(registry):
    """Register a plugin's components.

    ``registry`` has one attribute per kind -- ``BACKBONES, NECKS, HEADS, LOSSES, DECODERS, MODELS,
    EXPORTERS, DATASETS, TRANSFORMS, METRICS`` (and ``HOOKS``) -- each an mmengine Registry, e.g.
    ``registry.BACKBONES.register_module(module=MyNet)``.
    """
