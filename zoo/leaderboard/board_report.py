"""A board's report (``LEADERBOARD.md``) and plots, rebuilt from its results files alone.

Nothing here trains, tests or times: the figures come from ``leaderboard_runs.csv``, the per-image errors
beside it and ``leaderboard_costs.csv`` (``zoo.leaderboard.store``), so ``zoo leaderboard --board B
--report-only`` rebuilds the page anywhere, and each finished run rebuilds it with one more row.

The table shows one budget (the one most rows were run at, unless told): each row's Test1 MRE as the mean over
its seeds with their standard deviation, a 95 % bootstrap interval over the test images, SDR, and the paired
comparison with the reference row at the same budget (``zoo.leaderboard.stats``). The budget curve shows every
row run at more than one budget in minutes.
"""
from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from . import stats
from .anchors import anchors_for
from .store import ResultsStore, budget_label

TABLE_PLOT = "leaderboard_{board}.png"
CURVE_PLOT = "leaderboard_{board}_budget.png"


def _float(value):
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) else None


def _errors_mm(store: ResultsStore, run: dict) -> dict[str, np.ndarray]:
    """Image name -> that image's radial errors in mm (NaN where unlabelled or without a spacing)."""
    e = store.errors(run)
    mm = e["px"] * e["spacing"][:, None]
    return dict(zip(e["images"], mm))


def _aligned(per_run: list[dict], names=None) -> tuple[list[str], list[np.ndarray]]:
    """The runs' errors on the images all of them (and ``names``, when given) have, in one order."""
    common = set.intersection(*(set(r) for r in per_run))
    if names is not None:
        common &= set(names)
    order = sorted(common)
    return order, [np.stack([r[n] for n in order]) for r in per_run]


def _groups(store: ResultsStore) -> dict:
    """Runs by row (config hash) and budget; one run per seed (the first recorded)."""
    groups: dict = {}
    for run in store.runs():
        g = groups.setdefault(run["config_hash"], {"budgets": {}})
        g.update(name=run["row"], reference=run.get("reference") == "yes", model_type=run.get("model_type"),
                 global_backbone=run.get("global_backbone"), refine_backbone=run.get("refine_backbone"),
                 plugins=run.get("plugins"), config=run.get("config"), test_split=run.get("test_split"))
        key = (run["budget_kind"], float(run["budget"]))
        seeds = g["budgets"].setdefault(key, {})
        seeds.setdefault(int(run["seed"]), run)
    names = {}
    for h, g in groups.items():  # a row name whose recipe changed keeps both, told apart by hash
        names.setdefault(g["name"], []).append(h)
    for name, hashes in names.items():
        if len(hashes) > 1:
            for h in hashes:
                groups[h]["name"] = f"{name} ({h[:6]})"
    return groups


def _table_budget(groups: dict, budget=None):
    counts: dict = {}
    for g in groups.values():
        for key in g["budgets"]:
            counts[key] = counts.get(key, 0) + 1
    if budget is not None:
        return budget if budget in counts else None
    if not counts:
        return None
    return sorted(counts, key=lambda k: (-counts[k], k[0] != "minutes", k[1]))[0]


def collect(store: ResultsStore, budget=None, reps: int = stats.REPS) -> dict:
    """Every figure of the report, computed from the results files: ``table`` (rows at the table budget,
    ranked), ``curve`` (rows at several budgets), ``runs`` (all recorded runs) and the budget shown."""
    groups = _groups(store)
    budget = _table_budget(groups, budget)
    cache: dict = {}

    def errors(run):
        key = run["errors_file"]
        if key not in cache:
            cache[key] = _errors_mm(store, run)
        return cache[key]

    table = []
    reference = next((h for h, g in groups.items() if g["reference"]), None)
    ref_runs = list(groups[reference]["budgets"].get(budget, {}).values()) if reference and budget else []
    for h, g in groups.items():
        runs = list(g["budgets"].get(budget, {}).values()) if budget else []
        if not runs:
            continue
        names, arrays = _aligned([errors(r) for r in runs])
        row = {"hash": h, **{k: g[k] for k in ("name", "reference", "model_type", "global_backbone",
                                               "refine_backbone", "plugins", "config", "test_split")},
               "seeds": sorted(int(r["seed"]) for r in runs), "summary": stats.row_summary(arrays, reps=reps),
               "iters": sorted({int(r["iters"]) for r in runs}),
               "train_min": float(np.mean([float(r["train_min"]) for r in runs])),
               "selected": sorted({r.get("selected_iter") for r in runs if r.get("selected_iter")}, key=int),
               "images": len(names), "cost": store.cost(h)}
        if ref_runs and not g["reference"]:
            ref_names, ref_arrays = _aligned([errors(r) for r in ref_runs])
            shared, both = _aligned([errors(r) for r in ref_runs] + [errors(r) for r in runs],
                                    names=set(names) & set(ref_names))
            a, b = both[:len(ref_runs)], both[len(ref_runs):]
            signed_rank = stats.wilcoxon_signed_rank(stats.image_mre(b) - stats.image_mre(a))
            row["comparison"] = {**stats.paired_bootstrap(a, b, reps=reps), "wilcoxon": signed_rank,
                                 "images": len(shared)}
        table.append(row)
    compared = [r for r in table if r.get("comparison")]
    for r, p in zip(compared, stats.holm([r["comparison"]["wilcoxon"]["p"] for r in compared])):
        r["comparison"]["p_holm"] = p
        r["comparison"]["verdict"] = stats.verdict(r["comparison"]["ci"], p)
    table.sort(key=lambda r: (r["summary"]["MRE"], r["name"]))
    curve = []
    for h, g in groups.items():
        minutes = sorted(k for k in g["budgets"] if k[0] == "minutes")
        if len(minutes) < 2:
            continue
        points = []
        for key in minutes:
            runs = list(g["budgets"][key].values())
            _, arrays = _aligned([errors(r) for r in runs])
            points.append({"minutes": key[1], "summary": stats.row_summary(arrays, reps=reps),
                           "iters": sorted({int(r["iters"]) for r in runs}),
                           "train_min": float(np.mean([float(r["train_min"]) for r in runs]))})
        curve.append({"hash": h, "name": g["name"], "reference": g["reference"], "points": points})
    return {"budget": budget, "table": table, "curve": curve, "runs": store.runs(), "costs": store.costs(),
            "board": store.board}


# -- formatting -------------------------------------------------------------------------------------------
def _num(x, digits=2) -> str:
    return "-" if x is None else f"{x:.{digits}f}"


def _p(p) -> str:
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def _backbone(text: str | None) -> str:
    """``dict(type='HRNetBackbone', arch='hrnet_w18', pretrained=False)`` -> ``HRNetBackbone hrnet_w18``."""
    if not text:
        return "-"
    from .protocol import parse_component

    try:
        c = parse_component(text)
    except Exception:  # noqa: BLE001 - a hand-edited cell is shown as it is
        return text
    detail = c.get("model_name") or c.get("arch") or (f"depth {c['depth']}" if c.get("depth") else "")
    return f"{c['type']} {detail}".strip()


def _latency(cost: dict | None) -> str:
    if not cost:
        return "-"
    return " / ".join(_num(_float(cost.get(k)), 0) for k in ("torch_ms", "ort_fp32_ms", "ort_int8_ms"))


def _budget_text(budget) -> str:
    kind, value = budget
    return f"{value:g} CPU-minutes" if kind == "minutes" else f"{value:g} iterations"


def markdown(data: dict, md_path: Path, images: dict) -> str:
    board, budget, table = data["board"], data["budget"], data["table"]
    lines = [f"# Leaderboard: {board}", ""]
    if not table:
        lines += ["No run of this board is recorded yet. Start it (run again, it resumes where it stopped):",
                  "", "```bash", f"zoo leaderboard --board {board} --budget-minutes 10 --seeds 3", "```", ""]
        return "\n".join(lines)
    ref = next((r for r in table if r["reference"]), None)
    compared = (f"`{ref['name']}`'s (the reference)" if ref else
                "the reference row's (not recorded at this budget yet, so no row is compared)")
    image = next((c.get("image") for c in (r.get("cost") for r in table) if c and c.get("image")), None)
    converted = ", converted to iterations from each row's measured speed" if budget[0] == "minutes" else ""
    lines.append(
        f"Every row trains under one protocol and one budget ({_budget_text(budget)} per run{converted}), "
        "and only the model changes; each run's checkpoint is picked on the validation split and tested "
        "once. Ranked by test MRE (mean over seeds; lower is better). 95 % interval: bootstrap over the "
        f"{table[0]['images']} test images. Δ: the row's MRE minus {compared}, paired over the same images "
        "(interval from a paired bootstrap over images and seeds; p from a Wilcoxon signed-rank test on "
        "per-image MRE, Holm-adjusted over the rows); a difference is called real only when the interval "
        "excludes zero and p < 0.05. Latency: the whole predictor"
        + (f" on one test image, {image}," if image else "") + " batch 1, median ms.")
    lines.append("")
    head = ["#", "row", "global backbone", "refine backbone", "plugin", "MRE mm (± sd, seeds)",
            "95 % interval", "SDR 2 / 2.5 / 3 / 4 mm %", "Δ MRE mm [95 %]", "p (Holm)", "verdict",
            "params M", "GFLOPs", "ms torch / ORT fp32 / ORT int8", "train min", "iterations", "seeds"]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for i, r in enumerate(table, 1):
        s, c, cost = r["summary"], r.get("comparison"), r.get("cost") or {}
        two_stage = r["model_type"] == "TwoStageDetector"
        sd = f" ± {s['MRE_sd']:.3f}" if s["MRE_sd"] is not None else ""
        if c:
            delta = f"{c['diff']:+.3f} [{c['ci'][0]:+.3f}, {c['ci'][1]:+.3f}]"
            p, verdict = _p(c["p_holm"]), c["verdict"]
        else:
            delta, p, verdict = ("reference", "-", "-") if r["reference"] else ("-", "-", "-")
        cells = [str(i), f"`{r['name']}`", _backbone(r["global_backbone"]),
                 _backbone(r["refine_backbone"]) if two_stage else "- (one stage)", r["plugins"] or "-",
                 f"**{s['MRE']:.3f}**{sd}", f"{s['MRE_ci'][0]:.3f}-{s['MRE_ci'][1]:.3f}",
                 " / ".join(f"{v:.1f}" for v in s["SDR"].values()), delta, p, verdict,
                 _num(_float(cost.get("params_m")), 2), _num(_float(cost.get("gflops")), 1), _latency(cost),
                 f"{r['train_min']:.1f}", ", ".join(map(str, r["iters"])), " ".join(map(str, r["seeds"]))]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    if images.get("table"):
        lines += [f"![test MRE against whole-predictor CPU latency]({images['table']})", ""]
    real = [r for r in table if (r.get("comparison") or {}).get("verdict") in ("better", "worse")]
    if ref and real:
        said = "; ".join(f"`{r['name']}` is {r['comparison']['verdict']} ({r['comparison']['diff']:+.3f} mm)"
                         for r in real)
        lines += [f"Real differences from `{ref['name']}` at this budget: {said}. Every other gap is within "
                  "what the test images and the seeds move.", ""]
    elif ref:
        lines += [f"No row differs from `{ref['name']}` by more than the test images and the seeds move at "
                  "this budget.", ""]
    few = [r["name"] for r in table if len(r["seeds"]) < 3]
    if few:
        lines += [f"Fewer than 3 seeds so far: {', '.join(f'`{n}`' for n in few)} (the board is still "
                  "running; their intervals and comparisons will move).", ""]
    lines += _curve_section(data, images)
    lines += _context_section(table)
    lines += _how_section(data, md_path)
    return "\n".join(lines) + "\n"


def _curve_section(data: dict, images: dict) -> list[str]:
    if not data["curve"]:
        return []
    lines = ["## Training budget", "",
             "Test MRE against the training budget, everything else the protocol's (mean over seeds ± "
             "their sd; 95 % interval over the test images).", "",
             "| row | CPU-minutes | iterations | train min | MRE mm (± sd) | 95 % interval | SDR 2 mm % "
             "| seeds |", "|---|---|---|---|---|---|---|---|"]
    for c in sorted(data["curve"], key=lambda c: (not c["reference"], c["name"])):
        for pt in c["points"]:
            s = pt["summary"]
            sd = f" ± {s['MRE_sd']:.3f}" if s["MRE_sd"] is not None else ""
            cells = [f"`{c['name']}`", f"{pt['minutes']:g}", ", ".join(map(str, pt["iters"])),
                     f"{pt['train_min']:.1f}", f"{s['MRE']:.3f}{sd}",
                     f"{s['MRE_ci'][0]:.3f}-{s['MRE_ci'][1]:.3f}", f"{s['SDR']['2mm']:.1f}", str(s["seeds"])]
            lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    if images.get("curve"):
        lines += [f"![test MRE against training CPU-minutes]({images['curve']})", ""]
    return lines


def _context_section(table: list[dict]) -> list[str]:
    split = (table[0].get("test_split") or "").split()
    anchors = anchors_for({"type": split[0], "split": split[1]}) if len(split) >= 2 else None
    if not anchors:
        return []
    lines = ["## Context", "", f"Published figures ({anchors['note']}); not ranked, not trained under this "
             "board's budget:", "", "| method | MRE mm | SDR 2 / 2.5 / 3 / 4 mm % |", "|---|---|---|"]
    for a in anchors["rows"]:
        lines.append(f"| {a['method']} | {a['MRE_mm']:.2f} | {' / '.join(f'{v:.2f}' for v in a['SDR'])} |")
    return lines + [""]


def _distinct(values) -> list[str]:
    out = []
    for v in values:
        if v and v not in out:
            out.append(v)
    return out


def _listed(values) -> str:
    return ", ".join(f"`{v}`" for v in values) or "-"


def _how_section(data: dict, md_path: Path) -> list[str]:
    runs, board = data["runs"], data["board"]
    ref = next((r for r in data["table"] if r["reference"]), None)
    machines = _distinct(f"{r['cpu']}, {r['cores']} cores, torch {r['torch']} ({r['torch_threads']} threads)"
                         for r in runs)
    commits = _distinct((r.get("commit") or "").split(" ")[0][:10] for r in runs)
    dates = sorted(r["finished"] for r in runs)
    lines = ["## How it was made", ""]
    if ref:
        lines.append(f"- Protocol: every row is `{ref['config']}` (the reference) with only its backbone "
                     "changed (global stage, or refine stage as the second axis); a one-stage row brings its "
                     "own model and keeps the recipe's data loaders, augmentation, optimiser, schedule and "
                     "hooks. `zoo leaderboard` refuses a row that changes anything else.")
    train, val, test = (_distinct(r.get(k) for r in runs) for k in ("train_data", "val_data", "test_split"))
    lines.append(f"- Data: trained on {_listed(train)}; the checkpoint picked on {_listed(val)} (as many "
                 "validations as the recipe makes, spread over the budget; the lowest validation MRE wins); "
                 f"tested once on {_listed(test)} (subsets as 'start:stop' positions in the sorted file "
                 "names).")
    lines.append("- Budget: CPU-minutes of training on the board's machine, turned into iterations once per "
                 "row from a short probe of its own training loop (`leaderboard_probes.csv`); the "
                 "learning-rate schedule is stretched over those iterations, never cut by the clock. Train "
                 "min: wall minutes of the run (start-up and validations included), on a machine that may be "
                 "shared.")
    lines.append(f"- Statistics (`zoo.leaderboard.stats`): {stats.REPS} bootstrap resamples, percentile "
                 "intervals; MRE pooled over landmarks; the signed-rank test pairs the seed-averaged MRE of "
                 "each test image.")
    costs = data["costs"]
    if costs:
        lines.append("- Cost (`leaderboard_costs.csv`, the latest per row): parameters and GFLOPs of "
                     "the whole model (refine passes included); latency of the whole predictor (letterbox, "
                     "global graph, patch cutting and refine graph for two stages) on the first test image, "
                     f"{_distinct(c['runs'] for c in costs)[0]} timed runs after 3 warm-ups, threads = "
                     "cores, in torch eager fp32 and ONNX Runtime fp32 / int8 (static QDQ, calibrated on "
                     "test images).")
    lines.append(f"- Machine{'s' if len(machines) > 1 else ''}: {'; '.join(machines)}.")
    lines.append(f"- Code: commit{'s' if len(commits) > 1 else ''} {_listed(commits)}; runs finished "
                 f"{dates[0]} to {dates[-1]}.")
    for command in _distinct(r.get("command") for r in runs):
        lines.append(f"- Ran: `{command}`")
    row = ref["name"] if ref else "ROW"
    lines += ["", "Continue or repeat the board (each command skips the runs already recorded, so running "
              "it again after a stop goes on where it stopped; `--plan` lists the runs and what is recorded, "
              "without training):", "", "```bash",
              f"zoo leaderboard --board {board} --budget-minutes 10 --seeds 3",
              f"zoo leaderboard --board {board} --rows {row} --budget-minutes 15 30 60 120 240 --seeds 3",
              f"zoo leaderboard --board {board} --report-only   # this page and its plots, from the results",
              "```", "",
              "A row for a new backbone (a plugin's included) is one command; its runs land in the same "
              "files and this page gains the row:", "", "```bash",
              f"zoo leaderboard --board {board} --backbone \"dict(type='MyBackbone', depth=3)\" "
              "--name two-stage_my-backbone --budget-minutes 10 --seeds 3",
              "```", "",
              f"Results: `{_rel(Path(data['results_csv']), md_path)}` (one row per run), "
              f"`{_rel(Path(data['errors_dir']), md_path)}/` (per-image errors), `leaderboard_costs.csv`, "
              "`leaderboard_probes.csv`."]
    return lines


def _rel(path: Path, md_path: Path) -> str:
    try:
        return Path(os.path.relpath(path, md_path.parent)).as_posix()
    except ValueError:
        return str(path)


# -- plots ------------------------------------------------------------------------------------------------
def plot_table(data: dict, path: Path) -> Path | None:
    """Test MRE against whole-predictor latency (ONNX Runtime fp32, else torch), 95 % intervals as bars."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    axes = {"ort_fp32_ms": "ONNX Runtime fp32", "torch_ms": "torch eager fp32"}
    key = next((k for k in axes if any(_float((r.get("cost") or {}).get(k)) for r in data["table"])), None)
    if key is None:
        return None
    label = axes[key]
    points = [(r, _float((r.get("cost") or {}).get(key))) for r in data["table"]]
    points = [(r, x) for r, x in points if x]
    fig, ax = plt.subplots(figsize=(8.5, 5.5), dpi=110)
    colors = plt.get_cmap("tab10")
    for i, (r, x) in enumerate(points):
        s = r["summary"]
        lo, hi = s["MRE_ci"]
        ax.errorbar([x], [s["MRE"]], yerr=[[s["MRE"] - lo], [hi - s["MRE"]]], fmt="o", capsize=3,
                    color=colors(i % 10), label=r["name"] + (" (reference)" if r["reference"] else ""))
        ax.annotate(r["name"], (x, s["MRE"]), textcoords="offset points", xytext=(6, 6), fontsize=7)
    split = (data["table"][0].get("test_split") or "").split()
    anchors = anchors_for({"type": split[0], "split": split[1]}) if len(split) >= 2 else None
    if anchors and anchors.get("best_band_mm"):
        lo, hi = anchors["best_band_mm"]
        ax.axhspan(lo, hi, color="green", alpha=0.15, label=f"best published ({lo:g}-{hi:g} mm)")
    xs = [x for _, x in points]
    if max(xs) / max(min(xs), 1e-9) > 4:
        from matplotlib.ticker import NullFormatter, ScalarFormatter

        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlim(min(xs) / 1.3, max(xs) * 1.6)
    else:
        pad = (max(xs) - min(xs)) * 0.2 or max(xs) * 0.2
        ax.set_xlim(max(0.0, min(xs) - pad), max(xs) + 2 * pad)
    ax.set_ylim(0, max(r["summary"]["MRE_ci"][1] for r, _ in points) * 1.35)  # room for the legend
    costs = [r.get("cost") or {} for r, _ in points]
    image = next((c["image"] for c in costs if c.get("image")), "one image")
    ax.set_xlabel(f"whole-predictor CPU latency on {image}, {label}, batch 1 (ms)")
    ax.set_ylabel("test MRE (mm), lower is better")
    ax.set_title(f"{data['board']}: {_budget_text(data['budget'])} per run; bars: 95 % interval over test "
                 "images", fontsize=9)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def plot_curve(data: dict, path: Path) -> Path | None:
    """Test1 MRE against training CPU-minutes (log scale), one line per row run at several budgets."""
    if not data["curve"]:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.5, 5), dpi=110)
    for c in data["curve"]:
        xs = [p["minutes"] for p in c["points"]]
        ys = [p["summary"]["MRE"] for p in c["points"]]
        err = [[y - p["summary"]["MRE_ci"][0] for y, p in zip(ys, c["points"])],
               [p["summary"]["MRE_ci"][1] - y for y, p in zip(ys, c["points"])]]
        ax.errorbar(xs, ys, yerr=err, marker="o", capsize=3, label=c["name"])
    ax.set_xscale("log", base=2)
    ax.set_xticks(sorted({p["minutes"] for c in data["curve"] for p in c["points"]}))
    ax.get_xaxis().set_major_formatter(matplotlib.ticker.ScalarFormatter())
    ax.set_ylim(bottom=0)
    ax.set_xlabel("training budget (CPU-minutes)")
    ax.set_ylabel("test MRE (mm), lower is better")
    ax.set_title(f"{data['board']}: budget curve; bars: 95 % interval over test images", fontsize=9)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def write_report(store: ResultsStore, md_path, images_dir=None, budget=None, reps: int = stats.REPS) -> dict:
    """Write the markdown (and, with ``images_dir``, the two plots it links) from ``store``; returns the
    figures. ``budget``: ``(kind, value)`` of the table, e.g. ``("minutes", 10.0)``; default: the budget most
    rows ran at.
    """
    md_path = Path(md_path)
    data = collect(store, budget, reps=reps)
    data.update(results_csv=str(store.runs_csv), errors_dir=str(store.errors_dir))
    images = {}
    if images_dir is not None and data["table"]:
        images_dir = Path(images_dir)
        table_png = plot_table(data, images_dir / TABLE_PLOT.format(board=store.board))
        curve_png = plot_curve(data, images_dir / CURVE_PLOT.format(board=store.board))
        images = {k: _rel(v, md_path) for k, v in (("table", table_png), ("curve", curve_png)) if v}
    md_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = md_path.with_name(md_path.name + ".partial")
    tmp.write_text(markdown(data, md_path, images), encoding="utf-8")
    tmp.replace(md_path)
    data["images"] = images
    data["budget_label"] = budget_label(*data["budget"]) if data["budget"] else None
    return data
