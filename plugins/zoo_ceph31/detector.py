"""The 31-landmark heatmap detector as one registered model with its defaults named, not scattered in a script.

Direct coordinate regression was too coarse for these landmarks, so this recipe uses heatmaps: HRNet-W32,
heatmaps at 384 (up from 192, i.e. stride 2 on a 768 px input instead of HRNet's native 4), sigma 1.5, heatmap
loss plus 5 x a coordinate loss through soft-argmax plus a focal term, and sub-pixel decoding. The recipe's
"best accuracy" variant is heatmap 512, ``coord_weight=10``, ``sigma=1.0``; its "best speed" variant W18 and
heatmap 256. Each is a keyword here.
"""

from __future__ import annotations

from zoo.models.detector import LandmarkDetector
from zoo.errors import ModelConfigError


def _merge(default: dict, given: dict | None) -> dict:
    return dict(default, **(given or {}))


class HRNet31HeatmapDetector(LandmarkDetector):
    """31-landmark heatmap detector: HRNet-W32, heatmaps 384 @ input 768, sigma 1.5, MSE + 5 x coord, DARK.

    Args:
        arch: HRNet variant (``hrnet_w32`` default; ``hrnet_w48`` for accuracy, ``hrnet_w18`` for speed).
        landmark_set: ``ceph31`` (the 29 Aariz landmarks + ruler p1, p2) by default.
        input_size, heatmap_size: network input and heatmap side in px; their ratio is the head's output
            stride and must be 4, 2 or 1 (384 @ 768 gives 2).
        sigma: target Gaussian sigma in heatmap px (also the DARK modulation's).
        coord_weight, focal_weight, soft_argmax_beta: of ``CombinedHeatmapCoordLoss``.
        head_channels: width of the learned upsampling path.
        in_channels, pretrained: of the backbone (``pretrained`` is a local file).
        backbone, neck, head, decoder, loss: dicts merged over the defaults, for anything else.
    """

    def __init__(
        self,
        arch: str = "hrnet_w32",
        landmark_set: str = "ceph31",
        input_size: int = 768,
        heatmap_size: int = 384,
        sigma: float = 1.5,
        coord_weight: float = 5.0,
        focal_weight: float = 0.1,
        soft_argmax_beta: float = 20.0,
        head_channels: int = 64,
        in_channels: int = 3,
        pretrained: bool | str = False,
        backbone: dict | None = None,
        neck: dict | None = None,
        head: dict | None = None,
        decoder: dict | None = None,
        loss: dict | None = None,
        data_preprocessor: dict | None = None,
        test_cfg: dict | None = None,
        init_cfg: dict | None = None,
    ):
        if input_size % heatmap_size or input_size // heatmap_size not in (1, 2, 4):
            raise ModelConfigError(
                f"HRNet31HeatmapDetector: input_size {input_size} / heatmap_size {heatmap_size} "
                "must be 1, 2 or 4."
            )
        self.input_size, self.heatmap_size = input_size, heatmap_size
        super().__init__(
            backbone=_merge(
                dict(type="HRNetBackbone", arch=arch, in_channels=in_channels, pretrained=pretrained),
                backbone,
            ),
            neck=_merge(dict(type="HRNetV2Neck"), neck),
            head=_merge(
                dict(
                    type="HeatmapHead",
                    output_stride=input_size // heatmap_size,
                    sigma=sigma,
                    channels=head_channels,
                ),
                head,
            ),
            decoder=_merge(dict(type="DarkDecoder", blur_sigma=sigma), decoder),
            loss=_merge(
                dict(
                    type="CombinedHeatmapCoordLoss",
                    heatmap_loss=dict(type="HeatmapMSELoss"),
                    coord_loss=dict(type="L1CoordLoss"),
                    coord_weight=coord_weight,
                    focal_weight=focal_weight,
                    soft_argmax_beta=soft_argmax_beta,
                ),
                loss,
            ),
            landmark_set=landmark_set,
            data_preprocessor=data_preprocessor,
            test_cfg=test_cfg,
            init_cfg=init_cfg,
        )

    @classmethod
    def _smoke_cfgs(cls) -> list[dict]:
        """Cheap variants the generated tests build (``tests/models/test_components.py``)."""
        return [dict(arch="hrnet_w18_small", input_size=64, heatmap_size=32, head_channels=8)]
