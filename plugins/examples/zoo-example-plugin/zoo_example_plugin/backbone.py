"""A four-stage plain CNN following the zoo's backbone contract (list of maps, out_channels, out_strides)."""
from torch import nn


def _stage(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride=2, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
        nn.Conv2d(cout, cout, 3, padding=1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class TinyConvBackbone(nn.Module):
    """Tiny four-stage CNN (strides 4-32), an example of a third-party backbone."""

    def __init__(self, in_channels: int = 3, widths=(16, 32, 64, 128)):
        super().__init__()
        self.stem = _stage(in_channels, widths[0])
        self.stages = nn.ModuleList(_stage(a, b) for a, b in zip((widths[0], *widths[:-1]), widths))
        self.out_channels = list(widths)
        self.out_strides = [4, 8, 16, 32]

    def forward(self, x):
        x = self.stem(x)
        features = []
        for stage in self.stages:
            x = stage(x)
            features.append(x)
        return features
