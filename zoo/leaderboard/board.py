"""A board: rows that keep one protocol, each trained under one budget over several seeds, resumable for days.

A board file (``configs/leaderboard/board_isbi19.yml``) names the recipe every row starts from and the rows in
the order they run: the recipe itself (the reference), the recipe with a backbone replaced (``backbone:`` for
the global stage, ``refine_backbone:`` for the refine stage), or a config of another model type that keeps
the recipe's data and schedule (``config:``). ``zoo leaderboard --board isbi19 --budget-minutes 10 --seeds 3``
runs every (seed, budget, row) not yet in the results files, seed-major, so a complete first pass over the
rows comes before any second seed; each run appends its row the moment it is tested, and re-running the same
command goes on where the last one stopped.

A budget in minutes is turned into iterations once per row and machine, from a short probe of the row's real
training loop (recorded in ``leaderboard_probes.csv``), so all seeds of a row train the same iterations and
the schedule is never cut by the clock. Each run validates on the recipe's selection split as often as the
recipe does, and the best checkpoint there is tested once.
"""
from __future__ import annotations

import copy
import hashlib
import os
import re
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from .model_run import LeaderboardError, plugin_label, plugins_of
from .protocol import (
    apply_protocol,
    component_text,
    config_hash,
    parse_component,
    protocol_differences,
    stage_backbones,
    with_backbones,
)
from .store import COST_RUNTIMES, ResultsStore, budget_label

#: what the plan assumes for a run's minutes beyond its budget (start-up, four validations on 20 images, one
#: test pass over 150 full-size images), until the board's own recorded runs say what they take
ASSUMED_OVERHEAD_MIN = 5.0
ASSUMED_PROBE_MIN = 1.5
ASSUMED_COST_MIN = 4.0
#: the probe runs this many iterations and times the last PROBE_TIMED: the loaders cache decoded images during
#: the first epoch (130 images at batch 6 take 22 iterations), and the budget is spent mostly after it
BOARD_PROBE_ITERS = 32
PROBE_TIMED = 8


@dataclass
class Row:
    """One row of a board: its config before a run's budget, and its identity in the results files."""

    name: str
    cfg: object
    config_hash: str
    source: str
    reference: bool = False
    missing: list = field(default_factory=list)  # component types no installed plugin registers

    @property
    def slug(self) -> str:
        return re.sub(r"[^A-Za-z0-9._-]+", "_", self.name)


@dataclass
class Board:
    name: str
    recipe: Path
    rows: list
    results: Path
    report: Path | None = None
    images: Path | None = None


@dataclass
class PlannedRun:
    row: Row
    seed: int
    kind: str  # "minutes" or "iters"
    value: float
    recorded: dict | None = None

    @property
    def budget(self) -> str:
        return budget_label(self.kind, self.value)


def _repo_path(value) -> Path:
    from zoo.data.paths import repo_root

    path = Path(value)
    return path if path.is_absolute() else repo_root() / path


def board_file(spec) -> Path:
    """``isbi19`` -> ``configs/leaderboard/board_isbi19.yml``; a path is taken as it is."""
    path = Path(spec)
    if path.suffix in (".yml", ".yaml"):
        if not path.is_file():
            raise LeaderboardError(f"board file not found: {path}")
        return path
    named = _repo_path(f"configs/leaderboard/board_{spec}.yml")
    if not named.is_file():
        found = sorted(p.stem[len("board_"):] for p in named.parent.glob("board_*.yml"))
        raise LeaderboardError(f"no board {spec!r} ({named} does not exist); "
                               f"boards: {', '.join(found) or 'none'}")
    return named


def unregistered(cfg) -> list[str]:
    """The component types of ``cfg``'s model that no loaded plugin registers (a plugin not installed)."""
    import zoo.registry as registries
    from zoo.registry import UnknownComponentError, load_plugins

    load_plugins()
    kinds = {"model": "MODELS", "backbone": "BACKBONES", "neck": "NECKS", "head": "HEADS",
             "decoder": "DECODERS", "loss": "LOSSES"}
    model = cfg["model"]
    stages = [model] + [model.get(s) for s in ("global_stage", "refine_stage")
                        if isinstance(model.get(s), dict)]
    missing = []
    for stage in stages:
        for key, registry in kinds.items():
            part = stage if key == "model" else stage.get(key)
            if isinstance(part, dict) and part.get("type"):
                try:
                    getattr(registries, registry).get(part["type"])
                except UnknownComponentError:
                    missing.append(f"{key} {part['type']}")
    return sorted(set(missing))


def _component(value, what: str) -> dict | None:
    if value is None:
        return None
    if isinstance(value, dict):
        if not isinstance(value.get("type"), str):
            raise LeaderboardError(f"{what} {value!r} must be a dict with a 'type'")
        return dict(value)
    return parse_component(str(value), what)


def _make_row(name, recipe, recipe_cfg, *, config=None, backbone=None, refine_backbone=None,
              reference=False) -> Row:
    from zoo.engine.config import load_config

    if config is not None and (backbone is not None or refine_backbone is not None):
        raise LeaderboardError(f"row {name}: give a config or backbones, not both")
    if config is not None:
        path = _repo_path(config)
        if not path.is_file():
            raise LeaderboardError(f"row {name}: config not found: {path}")
        cfg = load_config(path)
        source = _relative(path)
    else:
        backbone = _component(backbone, f"row {name}: backbone")
        refine_backbone = _component(refine_backbone, f"row {name}: refine_backbone")
        cfg = with_backbones(recipe_cfg, backbone, refine_backbone)
        changed = [f"{k} {component_text(v)}" for k, v in
                   (("global backbone", backbone), ("refine backbone", refine_backbone)) if v is not None]
        source = _relative(recipe) + (f" with {'; '.join(changed)}" if changed else "")
    off = protocol_differences(cfg, recipe_cfg)
    if off:
        raise LeaderboardError(f"row {name} leaves the board's protocol ({_relative(recipe)}): "
                               + "; ".join(off[:6]) + (f"; and {len(off) - 6} more" if len(off) > 6 else "")
                               + ". A row may change the backbones only, or bring a model of another type "
                                 "with the recipe's data, augmentation and schedule.")
    return Row(name=name, cfg=cfg, config_hash=config_hash(cfg), source=source, reference=reference,
               missing=unregistered(cfg))


def _relative(path) -> str:
    from zoo.benchmarking.results_csv import repo_relative

    return repo_relative(path)


def load_board(spec, *, rows=None, configs=(), backbone=None, refine_backbone=None, name=None, results=None,
               report=None, images=None) -> Board:
    """The board of ``spec`` (a name or a board file) with the rows to run.

    ``rows``: run only these rows of the board file (by name). ``configs``, ``backbone``/``refine_backbone``
    (with ``name``): rows of one's own, checked against the protocol; given alone, only they run.
    ``results``/``report``/``images`` override the board file's folders (``report=False``: no report).
    """
    import yaml

    from zoo.engine.config import load_config

    path = board_file(spec)
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    for key in ("name", "recipe", "rows"):
        if not data.get(key):
            raise LeaderboardError(f"{path}: the board file needs '{key}'")
    recipe = _repo_path(data["recipe"])
    if not recipe.is_file():
        raise LeaderboardError(f"{path}: recipe not found: {recipe}")
    recipe_cfg = load_config(recipe)
    listed = []
    for i, spec_row in enumerate(data["rows"]):
        if not isinstance(spec_row, dict) or not spec_row.get("name"):
            raise LeaderboardError(f"{path}: row {i + 1} needs a 'name'")
        unknown = set(spec_row) - {"name", "config", "backbone", "refine_backbone", "reference"}
        if unknown:
            raise LeaderboardError(f"{path}: row {spec_row['name']}: unknown keys {sorted(unknown)}")
        listed.append(_make_row(spec_row["name"], recipe, recipe_cfg, config=spec_row.get("config"),
                                backbone=spec_row.get("backbone"),
                                refine_backbone=spec_row.get("refine_backbone"),
                                reference=bool(spec_row.get("reference"))))
    names = [r.name for r in listed]
    if len(set(names)) != len(names) or sum(r.reference for r in listed) != 1:
        raise LeaderboardError(f"{path}: row names must be unique and exactly one row the reference")
    chosen = listed
    if rows:
        unknown = [r for r in rows if r not in names]
        if unknown:
            raise LeaderboardError(f"no row {', '.join(unknown)} on board {data['name']}; "
                                   f"rows: {', '.join(names)}")
        chosen = [r for r in listed if r.name in rows]
    extra = [_make_row(Path(c).stem, recipe, recipe_cfg, config=c) for c in configs]
    if backbone is not None or refine_backbone is not None:
        parts = [_short(parse_component(backbone, "--backbone"))] if backbone else []
        if refine_backbone:
            parts.append(f"refine-{_short(parse_component(refine_backbone, '--refine-backbone'))}")
        label = name or "two-stage_" + "-".join(parts)
        extra.append(_make_row(label, recipe, recipe_cfg, backbone=backbone, refine_backbone=refine_backbone))
    elif name:
        raise LeaderboardError("--name names the row of --backbone/--refine-backbone")
    for row in extra:
        twin = next((r for r in listed if r.config_hash == row.config_hash), None)
        if twin is not None:  # the same training under another name would split one row's seeds in two
            row.name, row.reference = twin.name, twin.reference
        elif row.name in names:
            raise LeaderboardError(f"row name {row.name} is taken on board {data['name']} by another recipe; "
                                   f"give --name")
    if extra:
        chosen = (chosen if rows else []) + extra
    def folder(value, default):
        if value is False:
            return None
        return _repo_path(value) if value else (_repo_path(default) if default else None)

    return Board(name=str(data["name"]), recipe=recipe, rows=chosen,
                 results=folder(results, data.get("results") or "benchmarks/results"),
                 report=folder(report, data.get("report")), images=folder(images, data.get("images")))


def _short(component: dict) -> str:
    for key in ("model_name", "arch"):
        if component.get(key):
            return str(component[key]).replace("_", "-")
    if component.get("depth"):
        return f"{component['type'].lower().replace('backbone', '')}{component['depth']}"
    return component["type"].lower()


def plan(board: Board, store: ResultsStore, budgets, seeds) -> list[PlannedRun]:
    """Every (seed, budget, row) of the board in run order, each with its recorded row if it has one."""
    out = []
    for seed in seeds:
        for kind, value in budgets:
            for row in board.rows:
                recorded = store.recorded(row.config_hash, seed, kind, value)
                out.append(PlannedRun(row, seed, kind, value, recorded))
    return out


class _Log:
    """Timestamped lines to the console and to ``progress.log`` in the board's work folder."""

    def __init__(self, path: Path, echo):
        self.path, self.echo, self.t0 = path, echo, time.time()
        path.parent.mkdir(parents=True, exist_ok=True)

    def __call__(self, message: str) -> None:
        line = f"[{time.strftime('%Y-%m-%d %H:%M:%S')} +{(time.time() - self.t0) / 60:6.1f} min] {message}"
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")
        if self.echo:
            self.echo(line)


def _run_minutes(store: ResultsStore, kind: str, value: float) -> tuple[float, str]:
    """Minutes one run of this budget takes, from the board's recorded runs (training wall time, its start-up
    and validations included, plus the test): the same budget's mean, else the budget plus the mean overhead
    of the runs in minutes, else the budget plus an assumed overhead. Also how it was estimated."""
    runs = store.runs()
    same = [float(r["train_min"]) + float(r["test_min"]) for r in runs if r["budget_kind"] == kind and
            float(r["budget"]) == float(value)]
    if same:
        return sum(same) / len(same), "measured"
    extra = [float(r["train_min"]) - float(r["budget"]) + float(r["test_min"]) for r in runs
             if r["budget_kind"] == "minutes"]
    budget = value if kind == "minutes" else 0.0
    if extra:
        return budget + sum(extra) / len(extra), "from other budgets"
    return budget + ASSUMED_OVERHEAD_MIN, f"assumed: budget + {ASSUMED_OVERHEAD_MIN:g} min"


def describe_plan(board: Board, store: ResultsStore, planned: list[PlannedRun], machine: dict) -> list[str]:
    """The plan as lines: every run with its iterations and whether it is recorded, then the time it needs."""
    probes = {r.config_hash: store.probe(r.config_hash, machine) for r in board.rows}
    lines = [f"{'#':>3}  {'row':<44} {'budget':>7} {'seed':>4}  {'iterations':<20} status"]
    todo_min, rows_to_cost, rows_to_probe, todo = 0.0, set(), set(), 0
    for i, p in enumerate(planned, 1):
        probe = probes.get(p.row.config_hash)
        if p.kind == "iters":
            iters = f"{int(p.value)}"
        elif probe:
            spi = float(probe["sec_per_iter"])
            iters = f"{int(p.value * 60 // spi)} ({spi:.2f} s/it)"
        else:
            iters = "probe first"
        if p.recorded:
            status = f"recorded {p.recorded['finished']}: MRE {float(p.recorded['MRE_mm']):.3f} mm"
        elif p.row.missing:
            status = f"cannot run here: {', '.join(p.row.missing)} not registered (plugin not installed)"
        else:
            status = "to run"
            todo += 1
            todo_min += _run_minutes(store, p.kind, p.value)[0]
            if p.kind == "minutes" and not probe:
                rows_to_probe.add(p.row.config_hash)
            if store.cost(p.row.config_hash, machine) is None:
                rows_to_cost.add(p.row.config_hash)
        lines.append(f"{i:>3}  {p.row.name:<44} {p.budget:>7} {p.seed:>4}  {iters:<20} {status}")
    todo_min += len(rows_to_probe) * ASSUMED_PROBE_MIN + len(rows_to_cost) * ASSUMED_COST_MIN
    recorded = sum(1 for p in planned if p.recorded)
    per_run = "; ".join(f"{budget_label(k, v)}: {m:.1f} min per run ({how})" for k, v in
                        dict.fromkeys((p.kind, p.value) for p in planned)
                        for m, how in [_run_minutes(store, k, v)])
    lines.append(f"board {board.name}: {len(planned)} runs planned, {recorded} recorded, {todo} to run on "
                 f"this machine; about {todo_min / 60:.1f} h ({per_run}; {len(rows_to_probe)} probes of "
                 f"~{ASSUMED_PROBE_MIN:g} min, {len(rows_to_cost)} rows to cost at ~{ASSUMED_COST_MIN:g} "
                 "min)")
    lines.append(f"results: {store.runs_csv} and {store.errors_dir}/; report: {board.report or 'none'}")
    return lines


def run_board(board: Board, *, budgets, seeds, data_root=None, runtimes=("eager", "ort_fp32", "ort_int8"),
              latency_runs: int = 20, calib_images: int = 8, probe_iters: int = BOARD_PROBE_ITERS,
              work_root="work_dirs/leaderboard", command: str = "", note: str = "", echo=print) -> dict:
    """Run every planned run that is not recorded yet; returns ``trained``, ``skipped`` and ``failed`` runs.

    A run that fails is logged and left unrecorded (the next invocation tries it again); a run in progress
    when the process is killed is simply not recorded.
    """
    from zoo.benchmarking import machine_info
    from zoo.registry import load_plugins

    load_plugins()
    store = ResultsStore(board.results, board.name)
    machine = machine_info()
    work_root = Path(work_root)
    log = _Log(work_root / "progress.log", echo)
    planned = plan(board, store, budgets, seeds)
    for line in describe_plan(board, store, planned, machine):
        log(line)
    done = {"trained": [], "skipped": [], "failed": []}
    for p in planned:
        if store.recorded(p.row.config_hash, p.seed, p.kind, p.value):  # this or another process recorded it
            done["skipped"].append(p)
            continue
        if p.row.missing:
            log(f"{p.row.name}: skipped, {', '.join(p.row.missing)} not registered "
                "(is its plugin installed?)")
            done["failed"].append(p)
            continue
        try:
            iters, spi = _iterations(p, store, machine, work_root, data_root, probe_iters, command, log)
            _, checkpoint = _run_one(p, iters, spi, store, machine, work_root, data_root, command, note, log)
        except Exception as exc:  # one broken row must not sink the board; it stays unrecorded
            log(f"{p.row.name} seed {p.seed} {p.budget}: failed: {type(exc).__name__}: {exc}")
            done["failed"].append(p)
            continue
        done["trained"].append(p)
        if store.cost(p.row.config_hash, machine) is None:
            _cost(p.row, checkpoint, store, runtimes, latency_runs, calib_images, command, log)
        if board.report is not None:
            _report(store, board, log)
    log(f"board {board.name}: {len(done['trained'])} trained, {len(done['skipped'])} already recorded, "
        f"{len(done['failed'])} failed or not runnable here")
    return done


def _row_file(row: Row, work_root: Path) -> Path:
    path = work_root / row.slug / f"{row.slug}.py"
    path.parent.mkdir(parents=True, exist_ok=True)
    row.cfg.dump(str(path))
    return path


def _iterations(p: PlannedRun, store, machine, work_root, data_root, probe_iters, command, log):
    """(iterations, probed seconds per iteration or None) for this run's budget."""
    from .budget import iteration_times, iters_for_minutes, seconds_per_iter
    from .model_run import probe_throughput

    if p.kind == "iters":
        return int(p.value), None
    probe = store.probe(p.row.config_hash, machine)
    if probe is None:
        log(f"{p.row.name}: probing its training speed ({probe_iters} iterations, the last "
            f"{min(PROBE_TIMED, max(1, probe_iters - 2))} timed) to size the budgets")
        folder = work_root / p.row.slug / f"probe-{time.strftime('%Y%m%d-%H%M%S')}"
        probe_throughput(_row_file(p.row, work_root), iters=probe_iters, seed=0, work_dir=folder,
                         data_root=data_root, channels_last=False)
        times = iteration_times(folder)
        spi = seconds_per_iter(times, skip=max(2, len(times) - PROBE_TIMED))
        store.record_probe({"measured": time.strftime("%Y-%m-%d %H:%M:%S"), "row": p.row.name,
                            "config_hash": p.row.config_hash, "probe_iters": probe_iters, "sec_per_iter": spi,
                            "batch": p.row.cfg.train_dataloader.get("batch_size"),
                            "torch_threads": machine.get("torch_threads"), "command": command,
                            **_machine_columns(machine)})
        log(f"{p.row.name}: {spi:.3f} s per iteration")
    else:
        spi = float(probe["sec_per_iter"])
    return iters_for_minutes(p.value, spi), spi


def _machine_columns(machine: dict) -> dict:
    from zoo.benchmarking.results_csv import machine_columns

    load = [round(v, 2) for v in os.getloadavg()] if hasattr(os, "getloadavg") else None
    now = dict(machine, load_average_at_end=load)
    return machine_columns(now)


def _run_one(p: PlannedRun, iters: int, spi, store, machine, work_root, data_root, command, note, log):
    """Train, pick on the validation split, test once on the test split, record; (row, checkpoint)."""
    from .model_run import _train_runner, selected_checkpoint, test_per_image
    from .provenance import git_commit

    started = time.strftime("%Y-%m-%d %H:%M:%S")
    work_dir = work_root / p.row.slug / p.budget / f"seed{p.seed}-{time.strftime('%Y%m%d-%H%M%S')}"
    cfg = copy.deepcopy(p.row.cfg)
    apply_protocol(cfg, iters=iters, seed=p.seed, work_dir=work_dir, data_root=data_root)
    work_dir.mkdir(parents=True, exist_ok=True)
    resolved = work_dir / f"{p.row.slug}.py"
    cfg.dump(str(resolved))
    machine = dict(machine, load_average_at_start=[round(v, 2) for v in os.getloadavg()]
                   if hasattr(os, "getloadavg") else None)
    log(f"{p.row.name} seed {p.seed} {p.budget}: training {iters} iterations of batch "
        f"{cfg.train_dataloader.get('batch_size')} in {work_dir}")
    t0 = time.perf_counter()
    _train_runner(resolved, work_dir, channels_last=False)  # the recipe's own hooks decide the memory format
    train_s = time.perf_counter() - t0
    checkpoint, step, val_mre = selected_checkpoint(work_dir)
    log(f"{p.row.name} seed {p.seed} {p.budget}: trained in {train_s / 60:.1f} min; picked iteration {step} "
        f"(validation MRE {val_mre if val_mre is None else round(val_mre, 3)}); testing it once")
    tested = test_per_image(checkpoint, work_dir, data_root)
    report = tested["report"]
    names = sorted(r["image"] for r in tested["per_image"])
    global_backbone, refine_backbone = stage_backbones(cfg)
    mm = report.get("MRE_mm") or {}
    record = {
        "finished": time.strftime("%Y-%m-%d %H:%M:%S"), "started": started, "row": p.row.name,
        "reference": "yes" if p.row.reference else "", "config_hash": p.row.config_hash, "seed": p.seed,
        "budget_kind": p.kind, "budget": f"{p.value:g}", "iters": iters,
        "batch": cfg.train_dataloader.get("batch_size"), "sec_per_iter_probe": spi,
        "val_every": cfg.train_cfg.val_interval, "selected_iter": step, "val_MRE_mm": val_mre,
        "train_min": train_s / 60.0, "test_min": tested["test_s"] / 60.0, "MRE_mm": mm.get("mean"),
        "MRE_px": report["MRE_px"]["mean"], "median_mm": mm.get("median"),
        **{f"SDR_{k}": v for k, v in (report.get("SDR") or {}).items()},
        "test_images": len(names),
        "test_names_sha256": hashlib.sha256("\n".join(names).encode()).hexdigest()[:16],
        "test_split": _data_text(cfg.test_dataloader), "train_data": _data_text(cfg.train_dataloader),
        "val_data": _data_text(cfg.val_dataloader),
        "landmarks": tested["landmarks"], "model_type": cfg.model.get("type"),
        "global_backbone": component_text(global_backbone),
        "refine_backbone": component_text(refine_backbone),
        "plugins": plugin_label(plugins_of(cfg)), "config": p.row.source, "checkpoint": str(checkpoint),
        "commit": git_commit(), "command": command, "torch_threads": machine.get("torch_threads"),
        "note": note or None, **_machine_columns(machine),
    }
    record = store.record_run(record, tested["per_image"])
    figure = f"{record['MRE_mm']:.3f} mm" if record["MRE_mm"] is not None else f"{record['MRE_px']:.2f} px"
    log(f"{p.row.name} seed {p.seed} {p.budget}: test MRE {figure} -> recorded in {store.runs_csv.name}")
    return record, checkpoint


def _data_text(loader) -> str:
    """``ISBI2015Dataset train 0:130 senior``: the images a loader reads (type, split, subset, annotator)."""
    dataset = loader.get("dataset") or {}
    return " ".join(str(dataset.get(k)) for k in ("type", "split", "indices", "annotator") if dataset.get(k))


def _cost(row: Row, checkpoint, store, runtimes, latency_runs, calib_images, command, log) -> None:
    """Parameters, GFLOPs and whole-predictor latency of the row on this machine, recorded once per row."""
    from zoo.benchmarking import machine_info
    from zoo.benchmarking.machine import cores
    from zoo.benchmarking.run import bench_target

    log(f"{row.name}: parameters, GFLOPs and whole-predictor latency ({', '.join(runtimes) or 'no runtime'})")
    machine = machine_info()
    t0 = time.perf_counter()
    try:
        with tempfile.TemporaryDirectory(prefix="zoo-leaderboard-") as tmp:
            entry = bench_target(str(checkpoint), None, latency_runs, list(runtimes), cores(), calib_images,
                                 Path(tmp), log=lambda m: log(m.strip()), whole_predictor=True)
    except Exception as exc:  # the accuracy stands without the cost; the report says the cost is missing
        log(f"{row.name}: cost not measured: {type(exc).__name__}: {exc}")
        return
    times = entry.get("runtimes") or {}
    errors = [f"{k}: {v['error']}" for k, v in times.items() if "error" in v]
    store.record_cost({
        "measured": time.strftime("%Y-%m-%d %H:%M:%S"), "row": row.name, "config_hash": row.config_hash,
        "checkpoint": str(checkpoint), "timed": entry.get("timed"), "image": entry.get("image"),
        "input": "x".join(str(v) for v in entry.get("input_size") or []), "params_m": entry.get("params_m"),
        "gflops": entry.get("gflops"), **{col: (times.get(rt) or {}).get("ms") for rt, col in COST_RUNTIMES},
        "runs": latency_runs, "threads": cores(), "int8_calibration": entry.get("calibration"),
        "errors": "; ".join(errors)[:300] or None, "command": command, **_machine_columns(machine)})
    log(f"{row.name}: cost recorded ({(time.perf_counter() - t0) / 60:.1f} min)")


def recost_board(board: Board, *, runtimes, latency_runs: int = 20, calib_images: int = 8, command: str = "",
                 work_root="work_dirs/leaderboard", echo=print) -> int:
    """Measure every recorded row's cost again, back to back (on a quiet machine), from the checkpoint of its
    latest run that is still on disk; appends cost rows (the report uses the latest). Returns the rows
    measured."""
    store = ResultsStore(board.results, board.name)
    log = _Log(Path(work_root) / "progress.log", echo)
    measured = 0
    for row in board.rows:
        runs = [r for r in store.runs()
                if r["config_hash"] == row.config_hash and Path(r["checkpoint"]).is_file()]
        if not runs:
            log(f"{row.name}: no recorded run with its checkpoint on this machine; not re-costed")
            continue
        _cost(row, runs[-1]["checkpoint"], store, runtimes, latency_runs, calib_images, command, log)
        measured += 1
    if board.report is not None:
        _report(store, board, log)
    return measured


def _report(store: ResultsStore, board: Board, log) -> None:
    from .board_report import write_report

    try:
        write_report(store, board.report, board.images)
        log(f"report rebuilt: {board.report}")
    except Exception as exc:  # the runs are recorded; a report can be rebuilt with --report-only
        log(f"report not rebuilt: {type(exc).__name__}: {exc}")
