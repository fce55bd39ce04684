"""Built-in plugin `timm`: any timm model as a backbone, by name (``TimmBackbone``)."""

from zoo import hookimpl

from .backbone import CPU_FRIENDLY, TimmBackbone

__all__ = ["CPU_FRIENDLY", "TimmBackbone"]


@hookimpl
def zoo_register(registry):
    registry.BACKBONES.register_module(module=TimmBackbone)
