"""One protocol for every row of a board: the board's recipe, with only the backbone changed.

A leaderboard compares models only if everything but the model is the same: the training images, the images
that pick the checkpoint, the test images (used once), the augmentation, the optimiser, the schedule's shape
and the batch. A board therefore starts from one recipe (``isbi19``: the shipped two-stage recipe, trained on
TrainingData 001-130, the checkpoint picked on 131-150, Test1 once) and a row is that recipe with its global
(or refine) stage's backbone replaced. A row of another model type (a single-stage detector) keeps the data,
augmentation, optimiser and schedule and brings its own model. :func:`protocol_differences` says where a row
leaves the protocol, and the board refuses such a row rather than rank it beside the others.

The row's identity is a hash of what trains it (:func:`config_hash`): the model, the data loaders without
their data root, the optimiser, the schedule and the hooks. A results file keyed by it stays valid when the
dataset moves or the config file is renamed, and stops matching when the recipe changes.
"""
from __future__ import annotations

import ast
import copy
import hashlib
import json
import math

from .budget import finish_run, stretch_schedule
from .model_run import LeaderboardError

#: what trains a row; everything else in a config (work_dir, seed, helper variables) is not the row
HASHED_KEYS = ("model", "train_dataloader", "val_dataloader", "test_dataloader", "val_evaluator",
               "test_evaluator", "optim_wrapper", "param_scheduler", "train_cfg", "default_hooks",
               "custom_hooks")
#: the parts of a model a row may change while keeping the protocol
BACKBONE_PATHS = (("backbone",), ("global_stage", "backbone"), ("refine_stage", "backbone"))
#: pipeline steps only a two-stage model uses; a single-stage row drops them and keeps the rest
TWO_STAGE_STEPS = ("RefinePatches",)
LOADERS = ("train_dataloader", "val_dataloader", "test_dataloader")


def _plain(value):
    """A config value as plain JSON data (tuples become lists), so equal configs compare and hash equal."""
    return json.loads(json.dumps(value, default=repr))


def canonical(cfg) -> dict:
    """The parts of ``cfg`` that define a row, as plain data, without the data roots."""
    data = cfg.to_dict() if hasattr(cfg, "to_dict") else dict(cfg)
    out = {key: _plain(data.get(key)) for key in HASHED_KEYS}
    for key in LOADERS:
        dataset = (out.get(key) or {}).get("dataset")
        if isinstance(dataset, dict):
            dataset.pop("data_root", None)
    return out


def config_hash(cfg) -> str:
    """12 hex digits of sha256 over :func:`canonical` (sorted keys): the row's identity in results files."""
    text = json.dumps(canonical(cfg), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def differences(a, b, path: str = "") -> list[str]:
    """Dotted paths where two plain-data trees differ (``a`` is the reference)."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for key in sorted(set(a) | set(b), key=str):
            where = f"{path}.{key}" if path else str(key)
            if key not in b:
                out.append(f"{where} (missing)")
            elif key not in a:
                out.append(f"{where} (added)")
            else:
                out += differences(a[key], b[key], where)
        return out
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path} ({len(b)} entries, the protocol has {len(a)})"]
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in differences(x, y, f"{path}[{i}]")]
    return [] if a == b else [f"{path}: {b!r} (the protocol has {a!r})"]


def _without_steps(tree: dict, steps) -> dict:
    for key in LOADERS:
        dataset = (tree.get(key) or {}).get("dataset")
        if isinstance(dataset, dict) and isinstance(dataset.get("pipeline"), list):
            dataset["pipeline"] = [s for s in dataset["pipeline"] if not (isinstance(s, dict) and
                                                                           s.get("type") in steps)]
    return tree


def _drop(tree: dict, path) -> None:
    for key in path[:-1]:
        tree = tree.get(key) if isinstance(tree, dict) else None
        if tree is None:
            return
    if isinstance(tree, dict):
        tree.pop(path[-1], None)


def protocol_differences(cfg, reference) -> list[str]:
    """Where the row ``cfg`` leaves the protocol of ``reference``; empty when it keeps it.

    A row of the reference's model type may change its backbones (``backbone``, ``global_stage.backbone``,
    ``refine_stage.backbone``) and nothing else. A row of another model type brings its own model and must
    keep the rest: the same loaders (the two-stage patch cutting left out of both), optimiser, schedule and
    hooks.
    """
    ref, row = canonical(reference), canonical(cfg)
    if (ref["model"] or {}).get("type") == (row["model"] or {}).get("type"):
        for path in BACKBONE_PATHS:
            _drop(ref["model"], path)
            _drop(row["model"], path)
    else:
        ref.pop("model")
        row.pop("model")
        _without_steps(ref, TWO_STAGE_STEPS)
        _without_steps(row, TWO_STAGE_STEPS)
    return differences(ref, row)


def parse_component(text: str, what: str = "--backbone") -> dict:
    """A component config written on a command line, ``dict(type='X', depth=3)`` or ``{'type': 'X'}``, as a
    dict of literals (nothing is executed)."""
    try:
        node = ast.parse(text.strip(), mode="eval").body
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "dict" \
                and not node.args and all(k.arg for k in node.keywords):
            value = {k.arg: ast.literal_eval(k.value) for k in node.keywords}
        else:
            value = ast.literal_eval(node)
    except (SyntaxError, ValueError) as exc:
        raise LeaderboardError(f"{what} {text!r} is not a dict of literals "
                               f"(write dict(type='MyBackbone', depth=3)): {exc}") from None
    if not isinstance(value, dict) or not isinstance(value.get("type"), str):
        raise LeaderboardError(f"{what} {text!r} must be a dict with a 'type' (the registered name)")
    return value


def component_text(cfg: dict | None) -> str:
    """``dict(type='X', a=1)``: a component as a command line gives it (and :func:`parse_component` reads)."""
    if not cfg:
        return ""
    cfg = _plain(cfg)
    items = [f"type={cfg['type']!r}"] + [f"{k}={_literal(v)}" for k, v in cfg.items() if k != "type"]
    return f"dict({', '.join(items)})"


def _literal(value) -> str:
    if isinstance(value, list):
        return "(" + ", ".join(_literal(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    if isinstance(value, dict):
        return "dict(" + ", ".join(f"{k}={_literal(v)}" for k, v in value.items()) + ")"
    return repr(value)


def stage_backbones(cfg) -> tuple[dict | None, dict | None]:
    """(global or only backbone, refine backbone or None) of a model config."""
    model = cfg["model"]
    if isinstance(model.get("global_stage"), dict):
        return model["global_stage"].get("backbone"), (model.get("refine_stage") or {}).get("backbone")
    return model.get("backbone"), None


def with_backbones(reference, backbone: dict | None = None, refine_backbone: dict | None = None):
    """A copy of the ``reference`` config with its (global stage's) backbone and/or its refine stage's
    backbone replaced whole by the given configs (no key of the old backbone survives)."""
    from mmengine.config import ConfigDict

    cfg = copy.deepcopy(reference)
    model = cfg.model
    two_stage = isinstance(model.get("global_stage"), dict)
    if refine_backbone is not None and not two_stage:
        raise LeaderboardError("--refine-backbone needs a two-stage recipe; this board's recipe has one "
                               "stage")
    if backbone is not None:
        (model.global_stage if two_stage else model)["backbone"] = ConfigDict(backbone)
    if refine_backbone is not None:
        model.refine_stage["backbone"] = ConfigDict(refine_backbone)
    return cfg


def apply_protocol(cfg, *, iters: int, seed: int, work_dir, data_root=None):
    """Fix ``cfg`` (in place) for one run of the protocol: ``iters`` iterations with the recipe's schedule
    stretched over them, as many validations on the selection split as the recipe makes (the best by MRE is
    kept and tested once), the seed and the work dir."""
    from .budget import BudgetError

    if iters < 1:
        raise BudgetError(f"the budget must allow at least one iteration, got {iters}")
    if not cfg.get("val_dataloader") or not cfg.get("val_evaluator"):
        raise LeaderboardError("the protocol picks the checkpoint on a validation split: the recipe needs "
                               "val_dataloader and val_evaluator")
    train = cfg.get("train_cfg") or {}
    old = int(train.get("max_iters") or iters)
    validations = max(1, round(old / max(1, int(train.get("val_interval") or old))))
    every = max(1, math.ceil(iters / validations))
    cfg.param_scheduler = stretch_schedule(cfg.get("param_scheduler"), old, iters)
    cfg.train_cfg = dict(by_epoch=False, max_iters=int(iters), val_interval=every)
    hooks = dict(cfg.get("default_hooks") or {})
    # the best by validation MRE is what the protocol tests; the last is kept for a resumed look, no others
    hooks["checkpoint"] = dict(type="CheckpointHook", by_epoch=False, interval=every, max_keep_ckpts=1,
                               save_best="MRE", rule="less", save_last=True)
    hooks["logger"] = dict(type="LoggerHook", interval=10)
    return finish_run(cfg, hooks, log_window=10, seed=seed, work_dir=work_dir, data_root=data_root)
