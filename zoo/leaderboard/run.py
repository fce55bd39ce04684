"""``zoo leaderboard``: every model trained under one budget, tested on one split, costed on one machine.

Results are written as they come (``leaderboard.json`` after every step, the tables and the plot after
every model), with a timestamped ``progress.log``, so a long run can be followed and an interrupted one
still leaves its finished rows.
"""
from __future__ import annotations

import os
import shlex
import sys
import tempfile
import time
from pathlib import Path

from . import tables
from .anchors import anchors_for
from .budget import BudgetError, iters_for_minutes
from .model_run import (
    LeaderboardError,
    evaluate,
    input_size,
    measure_cost,
    model_name,
    plugin_label,
    plugins_of,
    prepare_config,
    probe_throughput,
    test_config_of,
    train,
    weights_mb,
)

DEFAULT_RUNTIMES = ("eager", "ort_fp32", "ort_int8")


class Progress:
    """Timestamped lines to the console and to ``progress.log``."""

    def __init__(self, path: Path, echo=print):
        self.path, self.echo, self.t0 = path, echo, time.time()

    def __call__(self, message: str) -> None:
        line = f"[{time.strftime('%H:%M:%S')} +{(time.time() - self.t0) / 60:5.1f} min] {message}"
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")
        if self.echo:
            self.echo(line)


def _budget_text(iters: int, batch, minutes=None, spi=None) -> str:
    text = f"{iters} it x {batch}"
    if minutes is not None:
        text += f" ({minutes:g} min at {spi:.2f} s/it)"
    return text


def _error_text(exc: Exception) -> str:
    return f"failed: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:200]


def run_leaderboard(configs=(), checkpoints=(), *, out, data_root=None, iters: int | None = None,
                    budget_minutes: float | None = None, seed: int = 0, repeats: int = 1,
                    runtimes=DEFAULT_RUNTIMES, latency_runs: int = 20, calib_images: int = 8, probe_iters: int = 6,
                    channels_last: bool = True, command: str | None = None, notes=(), echo=print) -> dict:
    """Run the leaderboard and write ``leaderboard.{md,csv,json}`` and ``leaderboard.png`` into ``out``."""
    from zoo.benchmarking import machine_info
    from zoo.registry import load_plugins

    from .provenance import git_commit, versions

    configs, checkpoints = [Path(c) for c in configs], [Path(c) for c in checkpoints]
    if not configs and not checkpoints:
        raise LeaderboardError("give at least one config (to train) or --checkpoints (to test)")
    if configs and (iters is None) == (budget_minutes is None):
        raise BudgetError("configs to train need exactly one budget: --iters N or --budget-minutes M")
    if repeats < 1:
        raise BudgetError(f"--repeats must be at least 1, got {repeats}")
    for path in configs + checkpoints:
        if not path.is_file():
            raise LeaderboardError(f"not found: {path}")
    names = [model_name(p) for p in configs + checkpoints]
    if len(set(names)) != len(names):
        raise LeaderboardError(f"two models share a name ({', '.join(sorted(names))}); rename a config")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    log = Progress(out / "progress.log", echo)
    load_plugins()
    result = {
        "command": command or " ".join(shlex.quote(a) for a in sys.argv),
        "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "seed": seed, "repeats": repeats, "seeds": [seed + i for i in range(repeats)],
        "budget": {"kind": "iters" if iters is not None else "minutes" if configs else "none",
                   "iters": iters, "minutes": budget_minutes,
                   "rule": ("equal iteration count for every model, learning-rate schedule stretched over it"
                            if iters is not None else
                            "equal training time: each model's minutes converted into iterations from its own "
                            f"measured seconds per iteration ({probe_iters}-iteration probe, median after 2)")},
        "training": {"channels_last": channels_last,
                     "OMP_WAIT_POLICY": os.environ.get("OMP_WAIT_POLICY"),
                     "torch_threads": __import__("torch").get_num_threads()},
        "evaluated": "the last checkpoint of each run (no model selection on the test split)",
        "latency": {"runtimes": list(runtimes), "runs": latency_runs, "batch": 1,
                    "rule": "median of the timed runs after 3 warm-up runs, threads = cores (zoo.benchmarking)"},
        "machine": machine_info(), "versions": versions(), "git_commit": git_commit(),
        "data_root_override": str(data_root) if data_root else None,
        "split": {}, "models": [], "notes": list(notes),
    }
    log(f"leaderboard: {len(configs)} config(s) to train, {len(checkpoints)} checkpoint(s) to test -> {out}")

    def save():
        _write_all(result, out)

    with tempfile.TemporaryDirectory(prefix="zoo-leaderboard-") as tmp:
        for config in configs:
            entry = {"model": model_name(config), "source": str(config), "trained": True, "runs": [],
                     "status": "running"}
            result["models"].append(entry)
            try:
                _train_entry(entry, config, result, out, Path(tmp), log=log, save=save, data_root=data_root,
                             iters=iters, budget_minutes=budget_minutes, seed=seed, repeats=repeats,
                             runtimes=runtimes, latency_runs=latency_runs, calib_images=calib_images,
                             probe_iters=probe_iters, channels_last=channels_last)
                entry["status"] = "ok"
            except Exception as exc:  # one broken model must not sink the board
                entry["status"] = _error_text(exc)
                log(f"{entry['model']}: {entry['status']}")
            save()
        for checkpoint in checkpoints:
            entry = {"model": model_name(checkpoint), "source": str(checkpoint), "trained": False, "runs": [],
                     "status": "running", "budget": "given checkpoint"}
            result["models"].append(entry)
            try:
                _checkpoint_entry(entry, checkpoint, result, out, Path(tmp), log=log, data_root=data_root,
                                  runtimes=runtimes, latency_runs=latency_runs, calib_images=calib_images)
                entry["status"] = "ok"
            except Exception as exc:
                entry["status"] = _error_text(exc)
                log(f"{entry['model']}: {entry['status']}")
            save()
        _cost_pass(result, Path(tmp), log, save, runtimes, latency_runs, calib_images, data_root)
    result["finished"] = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    result["wall_min"] = (time.time() - log.t0) / 60
    save()
    log(f"done in {result['wall_min']:.1f} min: {out / 'leaderboard.md'}")
    return result


def _describe(entry, cfg, result, log) -> None:
    from .provenance import describe_split

    origins = plugins_of(cfg)
    entry["plugins"] = origins
    entry["plugin"] = plugin_label(origins)
    w, h = input_size(cfg)
    entry["input"] = f"{w}x{h}"
    entry["landmark_set"] = cfg.model.get("landmark_set")
    for phase, key in (("train", "train_dataloader"), ("test", "test_dataloader")):
        try:
            split = describe_split(cfg, key)
        except Exception as exc:  # noqa: BLE001 - the split is described, not required, here
            split = {"error": _error_text(exc)}
        if split is None:
            continue
        entry.setdefault("split", {})[phase] = split
        first = result["split"].get(phase)
        if first is None:
            result["split"][phase] = split
        elif first.get("sha256_of_names") != split.get("sha256_of_names") or \
                first.get("annotator") != split.get("annotator"):
            note = (f"{entry['model']} {phase}s on a different {phase} split ({split}) than the first model; "
                    "its figures are not comparable")
            result["notes"].append(note)
            log(f"WARNING: {note}")


def _cost(entry, tmp, log, runtimes, latency_runs, calib_images, data_root=None) -> None:
    checkpoint = entry["cost_checkpoint"]
    cfg = test_config_of(checkpoint, data_root)
    log(f"{entry['model']}: parameters, GFLOPs and CPU latency ({', '.join(runtimes) or 'none'}) ...")
    load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    try:
        entry["cost"] = measure_cost(checkpoint, cfg, runtimes=runtimes, runs=latency_runs,
                                     calib_images=calib_images, tmpdir=tmp, log=lambda m: log(m.strip()))
    except Exception as exc:  # the accuracy stands; the cost columns stay empty and say why
        entry["cost"] = {"error": _error_text(exc)}
        log(f"{entry['model']}: cost {entry['cost']['error']}")
    if load_before is not None:  # latency on a shared machine is only as good as the quiet it had
        entry["cost"]["load_average_1min"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    entry["checkpoint_mb"] = Path(checkpoint).stat().st_size / 1e6
    entry["weights_mb"] = weights_mb(checkpoint)


def _cost_pass(result, tmp, log, save, runtimes, latency_runs, calib_images, data_root=None) -> None:
    """Every model's cost in one back-to-back pass after all training, so that they share the machine's
    state (on a shared machine, a latency measured between two trainings says more about the load)."""
    for entry in result["models"]:
        if entry["status"] == "ok" and entry.get("cost_checkpoint"):
            _cost(entry, tmp, log, runtimes, latency_runs, calib_images, data_root)
            save()
    result["latency"]["measured"] = time.strftime("%Y-%m-%d %H:%M:%S %Z")


def recost(out, *, runtimes=DEFAULT_RUNTIMES, latency_runs: int = 20, calib_images: int = 8, echo=print) -> dict:
    """Measure the cost of every model of an existing leaderboard again, back to back (e.g. on a quiet
    machine), keeping its accuracy figures; then rebuild the tables and the plot."""
    import json

    out = Path(out)
    source = out / "leaderboard.json"
    if not source.is_file():
        raise LeaderboardError(f"no leaderboard.json in {out}")
    result = json.loads(source.read_text(encoding="utf-8"))
    log = Progress(out / "progress.log", echo)
    for entry in result["models"]:  # boards written before cost_checkpoint was recorded
        if not entry.get("cost_checkpoint"):
            runs = entry.get("runs") or []
            entry["cost_checkpoint"] = runs[0].get("checkpoint") if runs and runs[0].get("checkpoint") else \
                (entry["source"] if not entry.get("trained") else None)
    result["latency"].update(runtimes=list(runtimes), runs=latency_runs)
    result["latency"]["remeasured_with"] = "zoo leaderboard --recost"
    result["machine"]["load_average_at_recost"] = [round(v, 2) for v in os.getloadavg()] \
        if hasattr(os, "getloadavg") else None
    log(f"re-measuring the cost of {len(result['models'])} model(s) in {out}")
    with tempfile.TemporaryDirectory(prefix="zoo-leaderboard-") as tmp:
        _cost_pass(result, Path(tmp), log, lambda: _write_all(result, out), runtimes, latency_runs, calib_images,
                   result.get("data_root_override"))
    _write_all(result, out)
    return result


def _train_entry(entry, config, result, out, tmp, *, log, save, data_root, iters, budget_minutes, seed, repeats,
                 runtimes, latency_runs, calib_images, probe_iters, channels_last) -> None:
    name = entry["model"]
    root = out / "models" / name
    n_iters = iters
    if budget_minutes is not None:
        log(f"{name}: measuring throughput ({probe_iters} iterations) to size the {budget_minutes:g}-minute budget")
        spi = probe_throughput(config, iters=probe_iters, seed=seed, work_dir=root / "probe", data_root=data_root,
                               channels_last=channels_last)
        n_iters = iters_for_minutes(budget_minutes, spi)
        entry["probe_sec_per_iter"] = spi
        log(f"{name}: {spi:.2f} s/it -> {n_iters} iterations")
    for r in range(repeats):
        run_seed = seed + r
        work_dir = root / f"seed{run_seed}"
        resolved, cfg = prepare_config(config, iters=n_iters, seed=run_seed, work_dir=work_dir, data_root=data_root)
        if r == 0:
            _describe(entry, cfg, result, log)
            entry["iters"] = n_iters
            entry["batch"] = cfg.train_dataloader.get("batch_size")
            entry["budget"] = _budget_text(n_iters, entry["batch"], budget_minutes, entry.get("probe_sec_per_iter"))
            entry["config"] = str(resolved)
        log(f"{name}: training seed {run_seed}, {n_iters} iterations of batch {entry['batch']} ...")
        run = {"seed": run_seed, "work_dir": str(work_dir)}
        entry["runs"].append(run)
        run.update(train(resolved, work_dir, channels_last))
        spi = run.get("sec_per_iter")
        log(f"{name}: trained in {run['train_s'] / 60:.1f} min" + (f" ({spi:.2f} s/it)" if spi else ""))
        save()
        log(f"{name}: testing {Path(run['checkpoint']).name} on the test split ...")
        tested = evaluate(run["checkpoint"], work_dir, data_root)
        run["figures"] = tables.run_figures(tested["report"])
        run["test_s"] = tested["test_s"]
        run["test_report"] = str(work_dir / "test_report.json")
        f = run["figures"]
        log(f"{name}: MRE {f['MRE_px']:.2f} px" + (f" / {f['MRE_mm']:.3f} mm, SDR@2mm {f['SDR_2mm']:.1f}%"
                                                     if f.get("MRE_mm") is not None else ""))
        save()
        if r == 0:
            entry["cost_checkpoint"] = run["checkpoint"]


def _checkpoint_entry(entry, checkpoint, result, out, tmp, *, log, data_root, runtimes, latency_runs,
                      calib_images) -> None:
    cfg = test_config_of(checkpoint, data_root)
    _describe(entry, cfg, result, log)
    work_dir = out / "models" / entry["model"].replace("/", "_")
    log(f"{entry['model']}: testing the given checkpoint on the test split ...")
    tested = evaluate(checkpoint, work_dir, data_root)
    entry["runs"].append({"seed": None, "figures": tables.run_figures(tested["report"]),
                          "test_s": tested["test_s"], "test_report": str(work_dir / "test_report.json")})
    entry["cost_checkpoint"] = str(checkpoint)


def render(out, publish_md=None, publish_plot=None, notes=()) -> dict:
    """Rebuild the tables and the plot of ``out`` from its ``leaderboard.json`` (no training, no timing);
    optionally also write the markdown to ``publish_md`` with the plot copied to ``publish_plot``."""
    import json
    import os
    import shutil

    out = Path(out)
    source = out / "leaderboard.json"
    if not source.is_file():
        raise LeaderboardError(f"no leaderboard.json in {out}")
    result = json.loads(source.read_text(encoding="utf-8"))
    result["notes"] = list(result.get("notes") or []) + [n for n in notes if n not in (result.get("notes") or [])]
    _write_all(result, out)
    if publish_md:
        from .report import write_markdown

        publish_md = Path(publish_md)
        published = dict(result)
        if publish_plot and result.get("plot"):
            publish_plot = Path(publish_plot)
            publish_plot.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(out / result["plot"], publish_plot)
            published["plot"] = Path(os.path.relpath(publish_plot, publish_md.parent)).as_posix()
        else:
            published["plot"] = None
        publish_md.write_text(write_markdown(published, result["table"], anchors_for(result["split"].get("test"))),
                              encoding="utf-8")
    return result


def _write_all(result: dict, out: Path) -> None:
    from .report import write_markdown

    rows = tables.rank([tables.aggregate(e) for e in result["models"] if e["status"] != "running"])
    result["table"] = rows
    result["ranking"] = tables.ranking(rows)
    result["rank_by"] = tables.rank_key(rows)
    result["per_run_rankings"] = tables.per_run_rankings([e for e in result["models"] if e["status"] == "ok"])
    tables.write_json(result, out / "leaderboard.json")
    tables.write_csv(rows, out / "leaderboard.csv")
    from .plot import plot

    anchors = anchors_for(result["split"].get("test"))
    png = plot(rows, out / "leaderboard.png", title=_plot_title(result), y_key=result["rank_by"], anchors=anchors)
    result["plot"] = png.name if png else None
    (out / "leaderboard.md").write_text(write_markdown(result, rows, anchors), encoding="utf-8")
    tables.write_json(result, out / "leaderboard.json")


def _plot_title(result: dict) -> str:
    test = result["split"].get("test") or {}
    b = result["budget"]
    budget = f"{b['iters']} iterations each" if b["kind"] == "iters" else \
        f"{b['minutes']:g} min each" if b["kind"] == "minutes" else "given checkpoints"
    return (f"{test.get('type', 'test split')} {test.get('split', '')} ({test.get('images', '?')} images), "
            f"{budget}, seed {result['seed']}\nbubble area: parameters")
