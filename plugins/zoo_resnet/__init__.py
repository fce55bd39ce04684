"""Built-in plugin: ResNet backbones from timm (filled by the models work)."""
from zoo import hookimpl


@hookimpl
def zoo_register(registry):
    return None
