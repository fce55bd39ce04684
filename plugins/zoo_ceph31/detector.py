"""The 31-landmark heatmap detector, registered by name so that recipes and model files say what they hold.

Direct coordinate regression was too coarse for these landmarks, so the recipe uses heatmaps: HRNet-W32,
heatmaps at 384 (up from 192, i.e. stride 2 on a 768 px input instead of HRNet's native 4), sigma 1.5, heatmap
loss plus 5 x a coordinate loss through soft-argmax plus a focal term, and sub-pixel decoding. Those choices
are written out in ``configs/_base_/models/hrnet31_heatmap.py``, part by part, and nowhere else: the
detector builds exactly the backbone, neck, head, decoder and loss its config names, so any backbone (a
plugin's, a timm model by name) replaces HRNet by replacing ``model.backbone``. The recipe's "best accuracy"
variant is heatmap 512, ``coord_weight=10``, ``sigma=1.0``; its "best speed" variant W18 and heatmap 256.

Until model-file format 3 this class took keywords (``arch``, ``input_size``, ``heatmap_size``, ``sigma``,
...) and merged its own defaults into whatever parts it was given, so a backbone of another type received
HRNet's ``arch``. Files of those formats are upgraded by ``zoo.modelfile.migrations``; a config that still
uses the keywords is refused with the parts to write instead.
"""

from __future__ import annotations

from zoo.errors import ModelConfigError
from zoo.models.detector import LandmarkDetector

#: the keywords the detector took before its parts were spelled out in configs
LEGACY_KEYWORDS = ("arch", "input_size", "heatmap_size", "sigma", "coord_weight", "focal_weight",
                   "soft_argmax_beta", "head_channels", "in_channels", "pretrained")


class HRNet31HeatmapDetector(LandmarkDetector):
    """The 31-landmark heatmap detector (29 Aariz landmarks + ruler p1, p2); its parts are its config's.

    Args:
        backbone, neck, head, decoder, loss: component configs, built as given (the recipe's are in
            ``configs/_base_/models/hrnet31_heatmap.py``); ``head`` must make heatmaps; without ``loss``
            the model predicts but cannot train.
        landmark_set: ``ceph31`` by default.
        data_preprocessor, test_cfg, init_cfg: as ``LandmarkDetector``'s.
    """

    def __init__(
        self,
        backbone: dict | None = None,
        neck: dict | None = None,
        head: dict | None = None,
        decoder: dict | None = None,
        loss: dict | None = None,
        landmark_set: str = "ceph31",
        data_preprocessor: dict | None = None,
        test_cfg: dict | None = None,
        init_cfg: dict | None = None,
        **legacy,
    ):
        _refuse_legacy(legacy, dict(backbone=backbone, neck=neck, head=head, decoder=decoder))
        super().__init__(
            backbone=backbone,
            neck=neck,
            head=head,
            decoder=decoder,
            loss=loss,
            landmark_set=landmark_set,
            data_preprocessor=data_preprocessor,
            test_cfg=test_cfg,
            init_cfg=init_cfg,
        )
        if self.head.output_kind != "heatmap":
            raise ModelConfigError(
                f"HRNet31HeatmapDetector: its head must make heatmaps; {type(self.head).__name__} makes "
                f"{self.head.output_kind} (a regression model is a LandmarkDetector)."
            )

    @classmethod
    def _smoke_cfgs(cls) -> list[dict]:
        """Cheap variants the generated tests build (``tests/models/test_components.py``)."""
        return [dict(
            backbone=dict(type="HRNetBackbone", arch="hrnet_w18_small", in_channels=3, pretrained=False),
            neck=dict(type="HRNetV2Neck"),
            head=dict(type="HeatmapHead", output_stride=2, sigma=1.5, channels=8),
            decoder=dict(type="DarkDecoder", blur_sigma=1.5),
            loss=dict(type="CombinedHeatmapCoordLoss", heatmap_loss=dict(type="HeatmapMSELoss"),
                      coord_loss=dict(type="L1CoordLoss"), coord_weight=5.0, focal_weight=0.1,
                      soft_argmax_beta=20.0),
        )]


def _refuse_legacy(legacy: dict, parts: dict) -> None:
    """A config written for the keyword form fails here with what to write, not deep in a component."""
    old = [k for k in legacy if k in LEGACY_KEYWORDS]
    unknown = [k for k in legacy if k not in LEGACY_KEYWORDS]
    if unknown:
        raise ModelConfigError(
            f"HRNet31HeatmapDetector got unexpected argument(s) {', '.join(map(repr, unknown))}; it takes "
            f"backbone, neck, head, decoder, loss, landmark_set, data_preprocessor, test_cfg and init_cfg."
        )
    if old:
        raise ModelConfigError(
            f"HRNet31HeatmapDetector no longer takes {', '.join(map(repr, old))}: its parts are written out "
            f"in the config (configs/_base_/models/hrnet31_heatmap.py), e.g. backbone=dict(arch='hrnet_w48') "
            f"for arch, head=dict(output_stride=input_size // heatmap_size, sigma=...) and "
            f"decoder=dict(blur_sigma=...) for the heatmap, loss=dict(coord_weight=...) for the loss."
        )
    missing = [name for name, cfg in parts.items() if cfg is None]
    if missing:
        raise ModelConfigError(
            f"HRNet31HeatmapDetector: no {', '.join(missing)} config; it builds exactly the parts its config "
            f"names (the recipe's: configs/_base_/models/hrnet31_heatmap.py)."
        )
