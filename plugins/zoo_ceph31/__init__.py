"""Built-in plugin `ceph31`: the 31-landmark HRNet heatmap detector (29 Aariz landmarks + ruler)."""

from zoo import hookimpl

from .detector import HRNet31HeatmapDetector

__all__ = ["HRNet31HeatmapDetector"]


@hookimpl
def zoo_register(registry):
    registry.MODELS.register_module(module=HRNet31HeatmapDetector)
