"""HRNet from timm, exposing its real high-resolution branches (not the classification layers).

timm's ``features_only`` HRNet defaults to ``feature_location='incre'``: the classifier's widening
layers (128-1024 channels, millions of extra parameters). Landmark heads want the branches
themselves, so we ask for ``feature_location=''`` and drop the stride-2 stem level by default.
"""

from __future__ import annotations

import torch.nn as nn

from zoo.errors import ModelConfigError

ARCHS = ("hrnet_w18_small", "hrnet_w18_small_v2", "hrnet_w18", "hrnet_w32", "hrnet_w48")


class HRNetBackbone(nn.Module):
    """HRNet (timm) branch outputs at strides 4/8/16/32 with their real widths (W18: 18/36/72/144).

    Args:
        arch: one of ``hrnet_w18_small``, ``hrnet_w18_small_v2``, ``hrnet_w18``, ``hrnet_w32``,
            ``hrnet_w48``.
        in_channels: 1 or 3.
        pretrained: ``False`` or the path of a local timm HRNet weights file (never downloaded).
        out_indices: timm feature levels; 0 is the stride-2 stem (64 channels), 1-4 the branches.
    """

    def __init__(
        self,
        arch: str = "hrnet_w18",
        in_channels: int = 3,
        pretrained: bool | str = False,
        out_indices: tuple[int, ...] = (1, 2, 3, 4),
    ):
        super().__init__()
        if arch not in ARCHS:
            raise ModelConfigError(f"HRNetBackbone: arch must be one of {', '.join(ARCHS)}; got {arch!r}.")
        if in_channels not in (1, 3):
            raise ModelConfigError(f"HRNetBackbone: in_channels must be 1 or 3, got {in_channels!r}.")
        import timm

        self.arch = arch
        self.model = timm.create_model(
            arch,
            pretrained=False,
            features_only=True,
            feature_location="",
            out_indices=tuple(out_indices),
            in_chans=in_channels,
        )
        if pretrained:
            from zoo.models.weights import load_local_weights

            load_local_weights(self.model, pretrained)
        self.out_channels = list(self.model.feature_info.channels())
        self.out_strides = list(self.model.feature_info.reduction())

    @classmethod
    def _smoke_cfgs(cls) -> list[dict]:
        """Cheap variants the generated tests build (``tests/models/test_components.py``)."""
        return [dict(arch="hrnet_w18_small"), dict(arch="hrnet_w18_small_v2", in_channels=1)]

    def forward(self, x):
        return list(self.model(x))
