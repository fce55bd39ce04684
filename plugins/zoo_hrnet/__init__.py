"""Built-in plugin `hrnet`: HRNet-W18/W32/W48 (and the small W18s) backbones from timm."""

from zoo import hookimpl

from .backbone import HRNetBackbone

__all__ = ["HRNetBackbone"]


@hookimpl
def zoo_register(registry):
    registry.BACKBONES.register_module(module=HRNetBackbone)
