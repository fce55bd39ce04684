"""``zoo train --data``: from a lab's annotated cephalograms to a calibrated model in one command.

A lab with 18 images annotated in Label Studio should not have to learn config inheritance before it can train:
copying a recipe and pointing its dataset at an export failed three ways (keys left from the base's reader, a
pipeline deleted with them, a test split nobody had). Here the zoo does what a careful engineer would:

1. :func:`read_own_data` reads the annotations as ``zoo data check`` does (any layout it knows: a Label Studio
   export, a CSV, an ISBI or Aariz folder), infers the landmark set from the label names, and refuses, before
   anything is built, data that cannot train a model: too few images, images it cannot find, labels no landmark
   set knows, two landmark sets in one export. Each message names the fix.
2. :func:`plan_run` splits off validation images (seeded, so the same data gives the same split), picks the start
   model (the shipped model sharing most landmarks, or the one named) and the recipe suited to the number of
   images: recipes are config files in ``configs/``, never defaults written here.
3. :func:`write_run_config` writes the config of the run, the recipe as its ``_base_`` with the dataset filled
   in, in the work dir; mmengine's Runner then writes the fully resolved config over it, so the file beside the
   checkpoint is the whole run, to repeat (``zoo train work_dirs/x/config.py``) or edit.
4. :func:`train_on_data` trains with mmengine's Runner (:func:`zoo.engine.training.run_training`: the checkpoint is
   picked on validation, a test split is evaluated only when there is one), calibrates the quality gate with what
   the data allows (:func:`zoo.calibration.calibrate_with_fallback`), predicts the validation images with the
   final model, draws them and reports the figures and the next commands.
"""
from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from zoo.registry import ZooError

#: fewest images a model is trained on, and fewest it is validated on when none are set apart by the user
MIN_TRAIN_IMAGES = 4
MIN_VAL_IMAGES = 2
#: from this many training images on, a model trained from scratch gets the full-length recipe
MANY_IMAGES = 50
#: configs/ paths of the recipes, by situation (see :func:`choose_recipe`)
RECIPES = {
    "finetune": "two_stage/two-stage_hrnet-w18-small_b6-ft_own-256.py",
    "scratch_few": "two_stage/two-stage_hrnet-w18-small_b6-600_own-256.py",
    "scratch": "two_stage/two-stage_hrnet-w18-small_b6-2k_isbi19-256.py",
}
#: what a split's name says it is for (ISBI's Test1Data, Aariz's Valid, the synthetic set's test)
_VAL_NAMES = ("val", "valid", "validation")
#: data problems, by the reader's reason, and how to fix each
_FIXES = {
    "unmatched image": "put the images beside the export, or name their folder with --images DIR",
    "missing image": "put the images where the annotations say, or name their folder with --images DIR",
    "unreadable image": "re-export or replace the file, or leave its annotation out",
    "corrupt JPEG data": "re-export or replace the file, or leave its annotation out",
}


class OwnDataError(ZooError):
    """The data given to ``zoo train --data`` cannot train a model; nothing was trained, the message says why and
    how to fix it."""


@dataclass
class Split:
    """One dataset of the user's data and what it is for: ``pool`` (training, validation split off it), ``val`` or
    ``test``."""

    role: str
    label: str
    cfg: dict
    samples: list = field(default_factory=list)  # (image path, labelled (K,) bool), in the dataset's order


@dataclass
class OwnData:
    """The user's data, read and checked: the landmark set it is in and its datasets by role."""

    source: Path
    landmark_set: str
    symbols: list
    splits: list
    how_set_was_chosen: str

    def role(self, role: str) -> list:
        return [s for s in self.splits if s.role == role]


@dataclass
class RunPlan:
    """What :func:`train_on_data` will do, each choice with its reason (printed before training starts)."""

    data: OwnData
    work_dir: Path
    recipe: Path
    recipe_reason: str
    start: str | None
    start_reason: str
    train_indices: list
    val_indices: list | None  # None: the user's own validation split
    spacing: float | None


@dataclass
class OwnDataResult:
    """What one ``zoo train --data`` run produced."""

    work_dir: Path
    config: Path
    checkpoint: Path  # the checkpoint training kept (best on validation)
    model: Path  # the model to use: the checkpoint with its quality gate, when one could be calibrated
    validation: dict  # the validation report of the final model (zoo.evaluation.landmark_report)
    test: dict | None  # the test split's report (the same form), when there is one
    calibration: list  # where each part of the quality gate came from, or why it is missing
    pictures: list  # one drawing per validation image: truth, prediction, the error between


# -- 1. reading ------------------------------------------------------------------------------------------------
def _role(cfg: dict, label: str) -> str:
    name = str(cfg.get("split") or "").lower()
    if "test" in name:
        return "test"
    if name in _VAL_NAMES:
        return "val"
    return "pool"


def _dataset_cfgs(path, landmark_set, label_map, images, spacing, strict: bool = True) -> list[tuple[str, dict]]:
    """``zoo data check``'s dataset entries for a path, with the command's options applied; ``strict`` refuses a
    pixel size given for a layout that carries its own (the test data's layout may carry its own quietly)."""
    from zoo.data.check import datasets_for_path

    path = Path(path)
    if path.suffix.lower() == ".py":
        raise OwnDataError(f"{path} is a config: train it with `zoo train {path}`; --data takes annotations (a "
                           f"Label Studio export, a CSV, an ISBI or Aariz folder)")
    if not path.exists():
        raise OwnDataError(f"{path}: no such file or folder. --data takes a Label Studio export (JSON or CSV), a "
                           f"landmark CSV, or an ISBI 2015 or Aariz folder")
    configs = datasets_for_path(path, landmark_set=landmark_set, label_map=label_map)
    out = []
    for label, cfg in configs:
        cfg = {k: v for k, v in cfg.items() if k not in ("skip_invalid", "allow_empty")}
        if images is not None:
            if cfg["type"] not in ("LabelStudioDataset", "CsvLandmarkDataset"):
                raise OwnDataError(f"--images applies to a Label Studio export or a CSV; {path} is a "
                                   f"{cfg['type']} folder, whose images sit in its own layout")
            cfg["img_dir"] = str(Path(images).resolve())
        takes_spacing = cfg["type"] in ("LabelStudioDataset", "CsvLandmarkDataset")
        if spacing is not None and takes_spacing:
            cfg["spacing"] = float(spacing)
        elif spacing is not None and strict:
            raise OwnDataError(f"--spacing-mm applies to a Label Studio export or a CSV; a {cfg['type']} "
                               f"carries each image's pixel size itself")
        cfg["data_root"] = str(Path(cfg["data_root"]).resolve())
        out.append((label, cfg))
    return out


def _problem_lines(report, samples: list, label: str) -> list[str]:
    """One line per kind of problem of one dataset (``zoo data check``'s report and the samples it could read), each
    with its fix."""
    lines = []
    by_reason: dict[str, list[str]] = {}
    for _, reason, message in report.problems:
        by_reason.setdefault(reason, []).append(message)
    for reason, messages in by_reason.items():
        fix = _FIXES.get(reason)
        more = f" (and {len(messages) - 1} more like it)" if len(messages) > 1 else ""
        lines.append(f"{len(messages)} x {reason}: {messages[0]}{more}" + (f"\n      fix: {fix}" if fix else ""))
    other = report.labels.other_sets if report.labels is not None else {}
    empty = [p.name for p, seen in samples if not seen.any()]
    shown = ", ".join(empty[:3]) + (f" and {len(empty) - 3} more" if len(empty) > 3 else "")
    if other and empty:
        sets = sorted({s for names in other.values() for s in names})
        lines.append(f"two landmark sets mixed in {label}: {len(samples) - len(empty)} images label landmarks of "
                     f"{report.landmark_set!r}, {len(empty)} only {', '.join(sorted(other))} ({'/'.join(sets)}): "
                     f"{shown}\n      fix: train one set at a time: export each set's tasks on their own, or name "
                     f"the set with --landmark-set NAME_OR_FILE.json")
    elif other:
        names = ", ".join(f"{lb} x{report.labels.labels[lb]} ({'/'.join(sets)})" for lb, sets in other.items())
        lines.append(f"labels of another landmark set than {report.landmark_set!r}, which training would drop: "
                     f"{names}\n      fix: leave them out with --label-map LABEL= for each, or train a set that "
                     f"holds them with --landmark-set NAME_OR_FILE.json")
    elif empty:
        lines.append(f"{len(empty)} images in {label} have no landmark of {report.landmark_set!r} labelled: {shown}"
                     f"\n      fix: annotate them, or leave their tasks out of the export")
    return lines


def _samples(cfg: dict, lenient: bool = False) -> list:
    """``(image path, labelled (K,))`` per sample; ``lenient`` reads past bad samples and unknown labels (what a
    report on a dataset with problems still wants to count)."""
    from zoo.registry import DATASETS

    cfg = {**cfg, "pipeline": [], "test_mode": True}
    if lenient:
        cfg.update(skip_invalid=True, allow_empty=True, check_images=False)
        if getattr(DATASETS.get(cfg["type"]), "NAMED_LABELS", False):
            cfg["unknown_labels"] = "ignore"
    ds = DATASETS.build(cfg)
    infos = [ds.get_data_info(i) for i in range(len(ds))]
    return [(Path(d["img_path"]), np.asarray(d["ori_keypoints_visible"]) > 0) for d in infos]


def read_own_data(data, *, images=None, test=None, landmark_set=None, label_map=None, spacing=None,
                  decode: bool = True) -> OwnData:
    """Read and check the user's annotations (and a separate test split); raise :class:`OwnDataError` listing every
    problem, each with its fix, before anything is trained.

    The landmark set is the one given, else the built-in set the training data's labels fit best; the validation
    and test data are then read in that set, so a test export labelled with other names still maps by symbol.
    """
    from zoo.data.check import check_datasets

    source = Path(data)
    configs = _dataset_cfgs(source, landmark_set, label_map, images, spacing)
    if test is not None:  # the test split named wins over the data folder's own
        configs = [(label, cfg) for label, cfg in configs if _role(cfg, label) != "test"]
        given = _dataset_cfgs(test, landmark_set, label_map, None, spacing, strict=False)
        named = [(label, cfg) for label, cfg in given if _role(cfg, label) == "test"]
        configs += [(f"test: {label}", {**cfg, "_role": "test"}) for label, cfg in (named or given)]
    roles = [cfg.pop("_role", None) or _role(cfg, label) for label, cfg in configs]
    if roles.count("test") > 1 or roles.count("val") > 1:
        several = [label for (label, _), role in zip(configs, roles) if role in ("test", "val")]
        raise OwnDataError(f"several test or validation splits ({', '.join(several)}): name the one to test on with "
                           f"--test PATH")
    if "pool" not in roles:
        raise OwnDataError(f"{source}: every split in it is a test or validation split ({', '.join(roles)}); "
                           f"--data names the images to train on")
    pool_first = sorted(range(len(configs)), key=lambda i: roles[i] != "pool")
    first = pool_first[0]
    check = lambda cfgs, infer: check_datasets(  # noqa: E731
        [(label, {**cfg, "skip_invalid": True, "allow_empty": True}) for label, cfg in cfgs], infer_set=infer,
        decode=decode, label_map=label_map)
    [lead] = check([configs[first]], infer=landmark_set is None)
    chosen = landmark_set or lead.landmark_set
    rest = check([(label, {**cfg, "landmark_set": chosen}) for i, (label, cfg) in enumerate(configs)
                  if i != first], infer=False)
    reports = {first: lead, **dict(zip([i for i in range(len(configs)) if i != first], rest))}
    from zoo.data.landmark_sets import get_landmark_set

    symbols = list(get_landmark_set(chosen).symbols)
    splits, problems = [], []
    for i, (label, cfg) in enumerate(configs):
        split = Split(roles[i], label, {**cfg, "landmark_set": chosen})
        split.samples = _samples(split.cfg, lenient=True)
        problems += _problem_lines(reports[i], split.samples, label)
        splits.append(split)
    if problems:
        raise OwnDataError(f"{source}: the data cannot train a model yet (nothing was trained):\n  - "
                           + "\n  - ".join(problems) + f"\n(`zoo data check {source}` shows the data in detail.)")
    how = (f"given (--landmark-set {landmark_set})" if landmark_set else
           lead.inference.describe() if lead.inference is not None else f"the layout's own ({chosen})")
    return OwnData(source, chosen, symbols, splits, how)


# -- 2. planning -----------------------------------------------------------------------------------------------
def configs_dir() -> Path:
    from zoo.data.paths import repo_root

    return repo_root() / "configs"


def choose_recipe(n_train: int, start: str | None) -> tuple[str, str]:
    """The recipe (its key in :data:`RECIPES`) for a run, and why: fine-tuning whatever the count when a start model
    shares landmarks; from scratch, a short run for a handful of images and the full recipe from
    :data:`MANY_IMAGES` on."""
    if start is not None:
        return "finetune", f"fine-tuning {Path(str(start)).name} on {n_train} training images"
    if n_train < MANY_IMAGES:
        return "scratch_few", f"from scratch on {n_train} training images (fewer than {MANY_IMAGES}: a short run)"
    return "scratch", f"from scratch on {n_train} training images (the full-length recipe)"


def _model_symbols(path: Path) -> list[str]:
    from zoo.modelfile import checkpoint_meta, is_weights_file, read_meta, safe_load

    meta = read_meta(path) if is_weights_file(path) else checkpoint_meta(safe_load(path), path)
    return list(meta["landmark_symbols"])


def choose_start(start, symbols: list[str]) -> tuple[str | None, str]:
    """The model to start from and why. ``'auto'``: the shipped model sharing most landmarks (none: from scratch);
    ``None``/``'none'``: from scratch; else a model name or file, used when it shares a landmark."""
    from zoo.model_zoo import resolve_model
    from zoo.model_zoo.index import model_entries

    wanted = set(symbols)
    if start is None or str(start).lower() == "none":
        return None, "from scratch (--from none)"
    if str(start).lower() == "auto":
        from zoo.data.landmark_sets import get_landmark_set

        best = max(((len(wanted & set(get_landmark_set(e.landmark_set).symbols)), e.name) for e in model_entries()
                    if e.shipped), default=(0, None))
        if best[0] == 0:
            return None, (f"from scratch: no shipped model shares a landmark with {', '.join(symbols)} "
                          f"(--from MODEL names another start)")
        start = best[1]
    path = resolve_model(start)
    if not path.is_file():
        raise OwnDataError(f"--from {start}: no such model file or model name (`zoo models` lists the names; "
                           f"--from none trains from scratch)")
    shared = [s for s in symbols if s in set(_model_symbols(path))]
    if not shared:
        return None, (f"from scratch: {start} shares no landmark with {', '.join(symbols)}, so its weights would "
                      f"start nothing this model finds")
    new = [s for s in symbols if s not in shared]
    extra = f"; {len(new)} new ({', '.join(new[:8])}{'...' if len(new) > 8 else ''}) start fresh" if new else ""
    return str(start), f"from {start}: {len(shared)} of {len(symbols)} landmarks shared by symbol{extra}"


def split_indices(n: int, val_fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """Training and validation indices of ``n`` images: a seeded permutation, so the same data and seed give the
    same split on every machine. At least :data:`MIN_VAL_IMAGES` validate and :data:`MIN_TRAIN_IMAGES` train."""
    n_val = max(MIN_VAL_IMAGES, int(round(n * val_fraction)))
    if n - n_val < MIN_TRAIN_IMAGES:
        need = MIN_TRAIN_IMAGES + MIN_VAL_IMAGES
        raise OwnDataError(f"{n} annotated image{'s' if n != 1 else ''}: a model needs at least {need} "
                           f"({MIN_TRAIN_IMAGES} to learn from, {MIN_VAL_IMAGES} to pick the checkpoint on); "
                           f"annotate {need - n} more (nothing was trained)")
    order = np.random.default_rng(seed).permutation(n)
    return sorted(int(i) for i in order[n_val:]), sorted(int(i) for i in order[:n_val])


def plan_run(data: OwnData, *, start="auto", recipe=None, work_dir=None, val_fraction: float = 0.2,
             seed: int = 0, spacing=None) -> RunPlan:
    """Split, start model and recipe for ``data`` (see the module's docstring)."""
    if not 0.0 < float(val_fraction) < 1.0:
        raise OwnDataError(f"--val-fraction must lie between 0 and 1, got {val_fraction!r}")
    pools = data.role("pool")
    if len(pools) > 1:
        raise OwnDataError(f"{data.source} holds several training splits ({', '.join(s.label for s in pools)}); "
                           f"give --data one of them")
    pool = pools[0]
    if data.role("val"):
        n_val = sum(len(s.samples) for s in data.role("val"))
        if n_val < MIN_VAL_IMAGES or len(pool.samples) < MIN_TRAIN_IMAGES:
            raise OwnDataError(f"{len(pool.samples)} training and {n_val} validation images: a model needs at "
                               f"least {MIN_TRAIN_IMAGES} and {MIN_VAL_IMAGES} (nothing was trained)")
        train, val = list(range(len(pool.samples))), None
    else:
        train, val = split_indices(len(pool.samples), val_fraction, seed)
    start, start_reason = choose_start(start, data.symbols)
    if recipe is not None:
        path, reason = Path(recipe).resolve(), "given with --recipe"
        if not path.is_file():
            raise OwnDataError(f"--recipe {recipe}: no such config file")
    else:
        key, reason = choose_recipe(len(train), start)
        path = configs_dir() / RECIPES[key]
        if not path.is_file():
            raise OwnDataError(f"the recipe {RECIPES[key]} is not in {configs_dir()} (an installed package ships no "
                               f"configs/): run from a clone of the repository, or give --recipe CONFIG")
        if start is not None:
            _check_start_fits(start, path)
    name = data.source.stem if data.source.is_file() else data.source.name
    work = Path(work_dir) if work_dir else Path("work_dirs") / name
    return RunPlan(data, work, path, reason, start, start_reason, train, val, spacing)


def _architecture(model: dict) -> list:
    """What must agree for a start model's weights to fit a recipe's model: every part's type and width, landmark
    set aside (per-landmark rows are mapped by symbol)."""
    def strip(value):
        if isinstance(value, dict):
            return {k: strip(v) for k, v in sorted(value.items())
                    if k not in ("landmark_set", "test_cfg", "loss", "decoder", "pretrained", "init_cfg", "sigma",
                                 "patch_scale", "patch_size")}
        if isinstance(value, (list, tuple)):
            return [strip(v) for v in value]
        return value

    return [strip(model.get(k)) for k in ("type", "backbone", "neck", "head", "global_stage", "refine_stage")]


def _check_start_fits(start: str, recipe: Path) -> None:
    """Refuse a start model of another architecture than the recipe's: its weights would load into nothing and
    the run would train from scratch while saying it fine-tunes."""
    from mmengine.config import Config

    from zoo.model_zoo import resolve_model
    from zoo.modelfile import checkpoint_config, checkpoint_meta, is_weights_file, read_meta, safe_load

    path = resolve_model(start)
    meta = read_meta(path) if is_weights_file(path) else checkpoint_meta(safe_load(path), path)
    theirs = checkpoint_config(meta, path).model
    ours = Config.fromfile(str(recipe)).model
    if _architecture(dict(theirs)) != _architecture(dict(ours)):
        raise OwnDataError(f"--from {start}: a {theirs.get('type')} of another architecture than the recipe "
                           f"{recipe.name} ({ours.get('type')}, as isbi19); its weights would not load. Give --recipe "
                           f"CONFIG with the start model's architecture (its own training config), or --from none")


# -- 3. the config ---------------------------------------------------------------------------------------------
def _dataset_text(cfg: dict, indices, pipeline: str, test_mode: bool) -> str:
    fields = {k: v for k, v in cfg.items() if k not in ("landmark_set",)}
    if fields.get("label_map"):  # pairs: a checkpoint carries only identifier keys, and labels hold spaces
        fields["label_map"] = [[label, symbol] for label, symbol in dict(fields["label_map"]).items()]
    parts = ["_delete_=True"] + [f"{k}={v!r}" for k, v in fields.items()] + ["landmark_set=landmark_set"]
    if indices is not None:
        parts.append(f"indices={indices!r}")
    if test_mode:
        parts.append("test_mode=True")
    parts.append(f"pipeline=_base_.{pipeline}")
    return "dict(dataset=dict(\n    " + ",\n    ".join(parts) + "))"


def write_run_config(plan: RunPlan, command: str = "zoo train --data") -> Path:
    """``<work dir>/config.py``: the recipe as ``_base_``, the user's data as its datasets (``_delete_=True`` with
    the recipe's pipelines restated, as a hand-written config must), the start model as ``load_from``."""
    data = plan.data
    [pool] = data.role("pool")
    val = data.role("val")
    tests = data.role("test")
    lines = [
        f"# The run of `{command}`: the recipe below with your data filled in (validation images: split.json).",
        "# Repeat or edit it: zoo train THIS_FILE (training replaces this text with the whole resolved config).",
        f"_base_ = [{str(plan.recipe)!r}]",
        f"landmark_set = {data.landmark_set!r}",
        "model = dict(landmark_set=landmark_set)",
        f"load_from = {plan.start!r}  # {plan.start_reason}",
        f"train_dataloader = {_dataset_text(pool.cfg, plan.train_indices, 'train_pipeline', False)}",
    ]
    if val:
        lines.append(f"val_dataloader = {_dataset_text(val[0].cfg, None, 'test_pipeline', True)}")
    else:
        lines.append(f"val_dataloader = {_dataset_text(pool.cfg, plan.val_indices, 'test_pipeline', True)}")
    if tests:
        lines.append(f"test_dataloader = {_dataset_text(tests[0].cfg, None, 'test_pipeline', True)}")
    else:
        lines += ["# no test split: the model is judged on its validation images",
                  "test_dataloader = None", "test_cfg = None", "test_evaluator = None"]
    plan.work_dir.mkdir(parents=True, exist_ok=True)
    path = plan.work_dir / "config.py"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    val_samples = val[0].samples if val else [pool.samples[i] for i in plan.val_indices]
    split = {"landmark_set": data.landmark_set, "train": [str(pool.samples[i][0]) for i in plan.train_indices],
             "validation": [str(p) for p, _ in val_samples],
             "test": [str(p) for s in tests for p, _ in s.samples]}
    (plan.work_dir / "split.json").write_text(json.dumps(split, indent=1), encoding="utf-8")
    return path


# -- 4. the run ------------------------------------------------------------------------------------------------
def _refuse_overwrite(work_dir: Path, resume) -> None:
    if resume is None and work_dir.is_dir() and any(work_dir.glob("*.pth")):
        raise OwnDataError(f"{work_dir} already holds a trained run: --resume continues it, --work-dir NEW_FOLDER "
                           f"starts another (nothing was overwritten)")


def _validation_pictures(model: Path, samples_cfg: dict, out_dir: Path, threads=None):
    """The final model's predictions on the validation images: its report and one drawing per image."""
    from zoo.calibration import dataset_samples
    from zoo.evaluation.report import landmark_report
    from zoo.evaluation.visualize import draw_comparisons
    from zoo.inference import Predictor

    predictor = Predictor.from_path(model, threads=threads)
    samples, _, _ = dataset_samples(samples_cfg)
    infos = _spacings(samples_cfg)
    records, verdicts = [], []
    for (path, truth, seen), sp in zip(samples, infos):
        entry = predictor.predict(path, name=str(path))
        pred = np.array([[entry["landmarks"][s]["x"], entry["landmarks"][s]["y"]] for s in predictor.symbols])
        records.append({"img_path": str(path), "truth": truth, "pred": pred, "visible": seen.astype(np.float32),
                        "spacing": float("nan") if sp is None else float(sp)})
        verdicts.append((entry.get("quality") or {}).get("status", "unchecked"))
    report = landmark_report(np.stack([r["pred"] for r in records]), np.stack([r["truth"] for r in records]),
                             np.stack([r["visible"] for r in records]), np.array([r["spacing"] for r in records]),
                             predictor.symbols)
    pictures = draw_comparisons(records, predictor.symbols, out_dir)
    return report, pictures, verdicts


def _spacings(ds_cfg: dict) -> list:
    from zoo.registry import DATASETS

    ds = DATASETS.build({**ds_cfg, "pipeline": [], "test_mode": True})
    return [ds.get_data_info(i).get("spacing") for i in range(len(ds))]


def _calibrate(best: Path, out: Path, start, say) -> list[str]:
    """The final model: ``best`` with the quality gate its data allows (``start`` lends what it cannot give)."""
    from zoo.calibration import CalibrationError, calibrate_with_fallback, write_quality

    say("calibrating the quality gate on the validation images...")
    try:
        made = calibrate_with_fallback(best, fallback=start)
    except CalibrationError as exc:
        made = None
        notes = [str(exc)]
    if made is None or made.quality is None:
        shutil.copyfile(best, out)
        notes = notes if made is None else made.notes
        return ["no quality gate: its predictions say `unchecked`"] + notes
    write_quality(best, out, made.quality, made.facing)
    sources = made.quality.calibrated_on.get("sources") or {}
    return [f"{part}: {source}" for part, source in sources.items()] + list(made.notes)


def _q(path) -> str:
    text = str(path)
    return f'"{text}"' if " " in text else text


def train_on_data(data, *, start="auto", images=None, test=None, landmark_set=None, label_map=None,
                  spacing=None, val_fraction: float = 0.2, seed: int = 0, recipe=None, work_dir=None,
                  minutes=None, amp: bool = False, resume=None, cfg_options=None, test_after: bool = True,
                  say=print) -> OwnDataResult:
    """``zoo train --data``: read, plan, write the config, train, calibrate, report (the module's docstring).
    ``say`` receives every line the command prints."""
    from .training import run_training

    own = read_own_data(data, images=images, test=test, landmark_set=landmark_set, label_map=label_map,
                        spacing=spacing)
    plan = plan_run(own, start=start, recipe=recipe, work_dir=work_dir, val_fraction=val_fraction, seed=seed,
                    spacing=spacing)
    _refuse_overwrite(plan.work_dir, resume)
    config = write_run_config(plan)
    n_val = len(plan.val_indices) if plan.val_indices is not None else sum(len(s.samples) for s in own.role("val"))
    n_test = sum(len(s.samples) for s in own.role("test"))
    say(f"data: {own.source} ({len(plan.train_indices)} images to train, {n_val} to validate"
        f"{f', {n_test} to test' if n_test else ', no test split'}); landmark set {own.landmark_set} "
        f"({len(own.symbols)}), {own.how_set_was_chosen}")
    say(f"start: {plan.start_reason}\nrecipe: {plan.recipe} ({plan.recipe_reason})\nconfig: {config}")
    outcome = run_training(config, work_dir=plan.work_dir, resume=resume, amp=amp, cfg_options=cfg_options,
                           test_after=test_after, minutes=minutes)
    best = outcome.best
    if best is None:
        raise OwnDataError(f"training in {plan.work_dir} saved no checkpoint")
    model = plan.work_dir / "model.pth"
    notes = _calibrate(best, model, plan.start, say)
    val_cfg = _val_dataset(plan)
    report, pictures, verdicts = _validation_pictures(model, val_cfg, plan.work_dir / "validation")
    result = OwnDataResult(plan.work_dir, config, best, model, report, outcome.test_report, notes, pictures)
    _write_summary(result, plan, verdicts)
    _say_summary(result, plan, verdicts, say)
    return result


def _write_summary(result: OwnDataResult, plan: RunPlan, verdicts: list) -> None:
    """``WORK_DIR/summary.json``: the run's figures and choices as data, for a script (the benchmark) or a lab
    notebook; the console says the same in words."""
    from zoo.evaluation.report import headline

    n_val = len(verdicts)
    summary = {
        "data": str(plan.data.source), "landmark_set": plan.data.landmark_set,
        "train_images": len(plan.train_indices), "validation_images": n_val,
        "test_images": sum(len(s.samples) for s in plan.data.role("test")),
        "start": plan.start, "start_reason": plan.start_reason, "recipe": str(plan.recipe),
        "config": str(result.config), "checkpoint": str(result.checkpoint), "model": str(result.model),
        "validation": headline(result.validation), "validation_verdicts": verdicts,
        "test": headline(result.test) if result.test is not None else None,
        "test_report": result.test, "quality_gate": result.calibration,
    }
    (plan.work_dir / "summary.json").write_text(json.dumps(summary, indent=1, default=float), encoding="utf-8")


def _val_dataset(plan: RunPlan) -> dict:
    val = plan.data.role("val")
    if val:
        return val[0].cfg
    [pool] = plan.data.role("pool")
    return {**pool.cfg, "indices": plan.val_indices}


def _say_summary(result: OwnDataResult, plan: RunPlan, verdicts: list, say) -> None:
    from zoo.evaluation import format_report

    m = _q(result.model)
    counts = {v: verdicts.count(v) for v in dict.fromkeys(verdicts)}
    if {"p1", "p2"} <= set(plan.data.symbols):
        scale = "--ruler-mm MM_BETWEEN_P1_AND_P2"  # a ruler model measures the pixel size itself
    else:
        scale = f"--spacing-mm {plan.spacing:g}" if plan.spacing else "--spacing-mm MM_PER_PIXEL"
    lines = [
        "",
        f"validation images read by the final model ({len(verdicts)}):",
        format_report(result.validation),
        f"verdicts on them: {', '.join(f'{n} {v}' for v, n in counts.items())}",
        "quality gate:",
        *[f"  {note}" for note in result.calibration],
        f"pictures of the validation predictions (truth green, prediction red): {_q(result.work_dir / 'validation')}",
        f"config of the run (`zoo train {_q(result.config)}` repeats it): {_q(result.config)}",
        f"checkpoint kept on validation: {_q(result.checkpoint)}",
        f"model: {m}",
        "next:",
        f"  zoo predict {m} YOUR_IMAGE.jpg {scale}  # landmarks, verdict and radii",
        f"  zoo predict {m} NEW_SCANS/ --format labelstudio --out preannotations.json  # pre-annotate the next ones",
        f"  zoo checkpoint publish {m} --out my_model.safetensors  # the weights file to share",
        f"  zoo export {m} --format onnx  # for ONNX Runtime",
    ]
    if result.test is not None:
        lines.insert(-4, f"  zoo test {m}  # the test report again")
    say("\n".join(lines))
