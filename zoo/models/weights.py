"""Loading backbone weights from a local file, never from the network.

Users of the zoo run on machines without internet access and with checkpoints of unknown origin, so
``pretrained`` is a path, read with ``torch.load(weights_only=True)`` (no pickled code runs) or with
safetensors. A file may hold a bare state dict or wrap it under ``state_dict`` / ``model``, and its
keys may carry a prefix such as ``backbone.`` or ``model.``; both are accepted. Keys the network
lacks (a classifier) are ignored, but every parameter the network has must be found, otherwise the
"pretrained" model would silently be half random.
"""

from __future__ import annotations

from pathlib import Path

from zoo.errors import PretrainedWeightsError as WeightsFileError

_PREFIXES = ("module.", "model.", "backbone.model.", "backbone.", "encoder.")


def read_state_dict(path: str | Path) -> dict:
    """Tensors of a ``.pth``/``.pt``/``.bin`` (torch) or ``.safetensors`` file."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise WeightsFileError(f"{path}: pretrained weights file not found (downloads are never attempted).")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path), device="cpu")
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # unpickling refused, truncated file, not a checkpoint
        raise WeightsFileError(f"{path}: cannot read weights ({type(exc).__name__}: {exc}).") from exc
    for key in ("state_dict", "model", "module"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict):
        raise WeightsFileError(f"{path}: expected a state dict of tensors, found {type(state).__name__}.")
    return state


def _strip(state: dict, wanted: set[str]) -> dict:
    best, best_hits = state, len(wanted & set(state))
    for prefix in _PREFIXES:
        stripped = {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
        hits = len(wanted & set(stripped))
        if hits > best_hits:
            best, best_hits = stripped, hits
    return best


def load_local_weights(module, path: str | Path) -> None:
    """Copy the weights in ``path`` into ``module``; every tensor ``module`` has must be present."""
    own = module.state_dict()
    state = _strip(read_state_dict(path), set(own))
    missing = [k for k in own if k not in state and not k.endswith("num_batches_tracked")]
    if missing:
        raise WeightsFileError(
            f"{path}: {len(missing)} of the network's {len(own)} tensors are not in the file "
            f"(first: {', '.join(missing[:3])}). Is it for this architecture?"
        )
    for k in own:  # a grey-scale stem from RGB weights: sum the colour filters, as timm does
        if (
            k in state
            and state[k].dim() == 4
            and own[k].dim() == 4
            and own[k].shape[1] == 1 != state[k].shape[1]
        ):
            state[k] = state[k].sum(dim=1, keepdim=True)
    bad = [k for k in own if k in state and tuple(state[k].shape) != tuple(own[k].shape)]
    if bad:
        k = bad[0]
        raise WeightsFileError(
            f"{path}: shape mismatch for {k}: file {tuple(state[k].shape)}, network {tuple(own[k].shape)}."
        )
    module.load_state_dict({k: state[k] for k in own if k in state}, strict=False)


def without_pretrained(model_cfg: dict) -> dict:
    """A model config whose backbones load no weights file: the caller loads a checkpoint over it.

    Every detector in it counts (a two-stage model's stages, an ensemble's members), since each names its own
    backbone and the file it named at training time is rarely where the checkpoint is opened. Only a backbone
    config that names ``pretrained`` is changed, so third-party backbones without that argument still build.
    """
    model_cfg = dict(model_cfg)
    backbone = model_cfg.get("backbone")
    if isinstance(backbone, dict) and backbone.get("pretrained"):
        model_cfg["backbone"] = dict(backbone, pretrained=False)
    for key in ("global_stage", "refine_stage"):
        if isinstance(model_cfg.get(key), dict):
            model_cfg[key] = without_pretrained(model_cfg[key])
    if isinstance(model_cfg.get("members"), (list, tuple)):
        model_cfg["members"] = [without_pretrained(m) if isinstance(m, dict) else m
                                for m in model_cfg["members"]]
    return model_cfg
