"""One self-describing checkpoint from several trained ones: an ``EnsembleDetector`` of their models.

    zoo ensemble work_dirs/run1/best.pth work_dirs/run2/best.pth work_dirs/run3/best.pth --out ensemble.pth
    zoo test ensemble.pth          # and zoo predict / zoo serve, like any checkpoint

Members are usually trained one after another with different seeds (an ensemble trained as one model needs no
assembly). Each keeps its own config and weights under ``members.<i>.``; the test pipeline and preprocessing
are the members' own, which must agree (one input feeds every member), and a two-stage member's config is the
base so that the test pipeline keeps the full-resolution image the refine stages crop from.
"""
from __future__ import annotations

from pathlib import Path

from zoo.modelfile import safe_load, save_checkpoint
from zoo.registry import ZooError


class EnsembleError(ZooError):
    """The checkpoints cannot form one ensemble; the message says which one and why."""


def _refine_spec(meta: dict):
    """The refine step a checkpoint's metadata describes, read as the Predictor reads it: metadata written before
    a field existed (``context``, ``views``) means that field's default, so comparing raw dicts would refuse
    checkpoints that predict exactly what their rebuilt config does."""
    from zoo.models.refinement import RefineSpec

    return RefineSpec.from_dict(meta["refine"]) if meta.get("refine") else None


def assemble_ensemble(checkpoints, out) -> Path:
    """Write the ensemble of ``checkpoints`` (at least two zoo checkpoints of one landmark set) to ``out``."""
    from zoo.modelfile import checkpoint_config, checkpoint_meta
    from zoo.modelfile.meta import build_zoo_meta
    from zoo.models.weights import without_pretrained
    from zoo.registry import MODELS, load_plugins

    load_plugins()
    paths = [Path(p) for p in checkpoints]
    if len(paths) < 2:
        raise EnsembleError(f"an ensemble needs at least two checkpoints, got {len(paths)}")
    loaded = [safe_load(p) for p in paths]
    metas = []
    for path, ckpt in zip(paths, loaded):
        if not ckpt.get("zoo_meta"):
            raise EnsembleError(f"{path} has no zoo metadata (config, preprocessing); use checkpoints saved by "
                                f"`zoo train`")
        meta = checkpoint_meta(ckpt, path)
        if meta.get("members"):
            raise EnsembleError(f"{path} is an ensemble already; list its members' checkpoints instead")
        metas.append(meta)
    for path, meta in zip(paths[1:], metas[1:]):
        for key in ("landmark_set", "preprocess"):
            if meta[key] != metas[0][key]:
                raise EnsembleError(f"{path} has {key} {meta[key]!r}, {paths[0]} {metas[0][key]!r}; the members of "
                                    f"an ensemble share one input and find the same landmarks")
    configs = [checkpoint_config(m, p) for m, p in zip(metas, paths)]
    base = next((i for i, m in enumerate(metas) if m.get("refine")), 0)
    cfg = configs[base]
    # each member keeps its data preprocessor: a two-stage member normalises its refine patches with it
    members = [without_pretrained(dict(c.model)) for c in configs]
    cfg.model = dict(type="EnsembleDetector", landmark_set=metas[0]["landmark_set"], members=members,
                     data_preprocessor=dict(configs[base].model["data_preprocessor"]))
    cfg.ensemble_of = [str(p) for p in paths]
    model = MODELS.build(cfg.model)
    state = {f"members.{i}.{k}": v for i, ckpt in enumerate(loaded) for k, v in ckpt["state_dict"].items()}
    state.update({k: v for k, v in model.state_dict().items() if not k.startswith("members.")})
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise EnsembleError(f"the members' weights do not fit their own configs: missing {list(missing)[:5]}, "
                            f"unexpected {list(unexpected)[:5]}")
    zoo_meta = build_zoo_meta(cfg, model)
    for path, meta, rebuilt in zip(paths, metas, zoo_meta["members"]):
        if _refine_spec(rebuilt) != _refine_spec(meta):
            raise EnsembleError(f"{path}: its config rebuilds a refine stage ({rebuilt.get('refine')}) other than its "
                                f"metadata's ({meta.get('refine')}); the ensemble would not predict what the member "
                                f"did")
    checkpoint = {"meta": {"ensemble_of": [p.name for p in paths]}, "state_dict": model.state_dict(),
                  "zoo_meta": zoo_meta}
    return save_checkpoint(checkpoint, out)
