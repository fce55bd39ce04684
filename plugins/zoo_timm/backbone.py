"""Any timm model as a backbone, named in a config: ``dict(type='TimmBackbone', model_name='convnext_atto')``.

timm's ``features_only=True`` gives hundreds of architectures one interface, a list of feature maps whose
widths and strides ``feature_info`` states, which is exactly the zoo's backbone contract: one wrapper serves
them all, where a plugin per family would copy the same twenty lines. timm is imported when a TimmBackbone is
built, never when the plugin loads: importing it costs about 3 s, which ``zoo --help`` and ``zoo list`` must
not pay.

Weights come only from a local file, read by timm's own loader (``pretrained_cfg_overlay=dict(file=...)``),
which adapts an RGB stem to one gray channel as it does for any ``in_chans``. timm loads such a file
non-strictly (a features-only network has no classifier to fill), so a file for another architecture would
leave most of the network random without a word; every tensor the network has is therefore checked to be in
the file, under timm's names.
"""

from __future__ import annotations

import difflib
from pathlib import Path

import torch.nn as nn

from zoo.errors import ModelConfigError, PretrainedWeightsError

#: small models that build with ``features_only``, train, export to ONNX and run fast on a CPU: built, trained
#: and exported by ``tests/models/test_timm_backbone.py``, timed against HRNet-W18-small by
#: ``benchmarks/timm_backbones.py``
CPU_FRIENDLY = (
    "convnext_atto",
    "convnextv2_atto",
    "efficientnet_lite0",
    "efficientnet_b0",
    "mobilenetv3_large_100",
    "mobilenetv4_conv_small",
    "repvit_m1",
    "fastvit_t8",
)
#: the finest stride kept when ``out_indices`` is not given: a stride-2 stem level would make a neck that
#: fuses at the finest stride (``HRNetV2Neck``) and a head on it work on four times the pixels, for features
#: that are little more than the image
MIN_STRIDE = 4
#: ``create_model`` arguments TimmBackbone sets itself
_OWN = ("features_only", "in_chans", "pretrained", "pretrained_cfg_overlay", "out_indices")


def _unknown_model(model_name: str, timm) -> ModelConfigError:
    names = timm.list_models()
    close = difflib.get_close_matches(model_name.lower(), names, n=3, cutoff=0.6)
    stem = model_name.split("_")[0].split(".")[0]
    hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    return ModelConfigError(
        f"TimmBackbone: timm {timm.__version__} has no model {model_name!r}.{hint} "
        f"`python -c \"import timm; print(timm.list_models('*{stem}*'))\"` lists the names like it."
    )


class TimmBackbone(nn.Module):
    """Any timm model by name: model_name='convnext_atto' (names: timm.list_models('*convnext*')).

    Args:
        model_name: a name of ``timm.list_models()``.
        out_indices: the timm feature levels to return; ``None``: every level at stride 4 or coarser.
        in_channels: 1 (gray) or 3 (RGB).
        pretrained: ``False`` or the path of a local weights file in timm's naming (what
            ``timm.create_model(model_name).state_dict()`` holds, as timm publishes them); never downloaded.
        **timm_kwargs: passed on to ``timm.create_model``, e.g. ``drop_path_rate=0.1``,
            ``feature_location=''`` (HRNet's real branches), ``img_size=256`` or ``dynamic_img_size=True``
            (models with a fixed input size, such as ViTs).
    """

    def __init__(
        self,
        model_name: str,
        out_indices: tuple[int, ...] | None = None,
        in_channels: int = 3,
        pretrained: bool | str = False,
        **timm_kwargs,
    ):
        super().__init__()
        if in_channels not in (1, 3):
            raise ModelConfigError(f"TimmBackbone: in_channels must be 1 or 3, got {in_channels!r}.")
        own = sorted(set(timm_kwargs) & set(_OWN))
        if own:
            raise ModelConfigError(
                f"TimmBackbone sets {', '.join(own)} itself; use its own arguments (out_indices, "
                f"in_channels, pretrained) instead."
            )
        if pretrained is True:
            raise ModelConfigError(
                "TimmBackbone: pretrained=True would download weights, which the zoo never does; give the "
                "path of a local weights file instead."
            )
        weights = Path(pretrained) if pretrained else None
        if weights is not None and not weights.is_file():
            raise PretrainedWeightsError(
                f"{weights}: pretrained weights file not found (downloads are never attempted)."
            )
        import timm

        if not isinstance(model_name, str) or not timm.is_model(model_name):
            raise _unknown_model(str(model_name), timm)
        kwargs = dict(timm_kwargs, features_only=True, in_chans=in_channels)
        if out_indices is not None:
            kwargs["out_indices"] = tuple(out_indices)
        if weights is not None:
            in_file = _names_in(weights)
            kwargs.update(pretrained=True, pretrained_cfg_overlay=dict(file=str(weights)))
        try:
            self.model = timm.create_model(model_name, **kwargs)
        except Exception as exc:  # timm's own: unknown keyword, no feature maps, a file that does not fit
            raise _build_error(timm, model_name, kwargs, exc, timm_kwargs, out_indices, weights) from None
        if weights is not None:
            self._check_covered(weights, in_file)
        info = self.model.feature_info
        levels = list(range(len(info.channels())))
        if out_indices is None:
            levels = [i for i in levels if info.reduction()[i] >= MIN_STRIDE] or levels
        self.levels = levels
        self.model_name = model_name
        self.out_channels = [info.channels()[i] for i in levels]
        self.out_strides = [info.reduction()[i] for i in levels]
        self.channels_last_output = str(getattr(self.model, "output_fmt", "NCHW")).endswith("NHWC")

    def _check_covered(self, weights: Path, in_file: set[str]) -> None:
        """Refuse a file that leaves any of the network's tensors at their random start."""
        own = list(self.model.state_dict())
        # the feature wrappers rename: ``stem.0`` -> ``stem_0`` (flattened), ``x`` -> ``model.x`` (getter)
        prefix = "model." if own and all(k.startswith("model.") for k in own) else ""
        missing = [k for k in own if k[len(prefix):].replace(".", "_") not in in_file
                   and not k.endswith("num_batches_tracked")]
        if missing:
            raise PretrainedWeightsError(
                f"{weights}: {len(missing)} of the network's {len(own)} tensors are not in the file under "
                f"timm's names for {self.model.pretrained_cfg.get('architecture', 'this model')!r} (first: "
                f"{', '.join(missing[:3])}). Is it for this architecture, and saved from timm's model?"
            )

    @classmethod
    def _smoke_cfgs(cls) -> list[dict]:
        """Cheap variants the generated tests build (``tests/models/test_components.py``)."""
        return [dict(model_name="convnext_atto"), dict(model_name="mobilenetv4_conv_small", in_channels=1)]

    @classmethod
    def _list_note(cls) -> str:
        """What ``zoo list`` prints under the table: how to name a model, and the ones tried on a CPU."""
        return (
            "dict(type='TimmBackbone', model_name=NAME), NAME any of timm.list_models() whose feature maps "
            "timm can return; trained, exported and timed on a CPU: " + ", ".join(CPU_FRIENDLY) + "."
        )

    def forward(self, x):
        feats = self.model(x)
        feats = [feats[i] for i in self.levels]
        if self.channels_last_output:  # timm's NHWC models (MambaOut, Swin) return (N, H, W, C) maps
            feats = [f.permute(0, 3, 1, 2) for f in feats]
        return feats


def _names_in(weights: Path) -> set[str]:
    """A weights file's tensor names as timm reads them, dots made underscores (as the wrappers flatten)."""
    from timm.models import load_state_dict

    try:
        return {k.replace(".", "_") for k in load_state_dict(str(weights))}
    except Exception as exc:  # unpickling refused (weights_only), truncated file, not a checkpoint
        raise PretrainedWeightsError(
            f"{weights}: cannot read weights ({type(exc).__name__}: {exc})."
        ) from None


def _build_error(timm, model_name: str, kwargs: dict, exc: Exception, timm_kwargs: dict, out_indices,
                 weights: Path | None) -> Exception:
    """The error to raise when ``create_model`` failed: the file's fault when the same model builds without it
    (timm reads the file inside ``create_model``, so the exception alone does not say), else the config's."""
    what = f"{type(exc).__name__}: {exc or 'assertion failed'}"
    if weights is not None:
        without = {k: v for k, v in kwargs.items() if k not in ("pretrained", "pretrained_cfg_overlay")}
        try:
            timm.create_model(model_name, **without)
        except Exception:
            pass
        else:
            return PretrainedWeightsError(f"{weights}: does not fit timm's {model_name!r} ({what}).")
    return ModelConfigError(
        f"TimmBackbone: timm could not build {model_name!r} with features_only=True and "
        f"{_describe(timm_kwargs, out_indices)}: {what}. A model that cannot return feature maps (or not "
        f"with these arguments) cannot be a backbone."
    )


def _describe(timm_kwargs: dict, out_indices) -> str:
    given = dict(timm_kwargs, **({"out_indices": tuple(out_indices)} if out_indices is not None else {}))
    return ", ".join(f"{k}={v!r}" for k, v in given.items()) if given else "no other arguments"
