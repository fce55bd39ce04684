"""Built-in plugin `resnet`: ResNet-18/34/50 backbones from timm (the regression baseline)."""

from zoo import hookimpl

from .backbone import ResNetBackbone

__all__ = ["ResNetBackbone"]


@hookimpl
def zoo_register(registry):
    registry.BACKBONES.register_module(module=ResNetBackbone)
