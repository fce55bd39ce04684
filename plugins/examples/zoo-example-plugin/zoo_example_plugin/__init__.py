"""An example third-party plugin: what a lab writes to add its own backbone to the zoo."""
from zoo import hookimpl


@hookimpl
def zoo_register(registry):
    from .backbone import TinyConvBackbone

    registry.BACKBONES.register_module(module=TinyConvBackbone)
