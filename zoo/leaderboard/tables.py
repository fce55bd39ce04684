"""Rows, ranking and the three table files (markdown, CSV, JSON) of a leaderboard.

A model trained several times (``--repeats``) gets one row: the mean of its runs, and how far the
figures moved between runs (max - min), so a reader can tell a real gap from noise.
"""
from __future__ import annotations

import csv
import json
import math
import statistics
from pathlib import Path

SDR_KEYS = ("2mm", "2.5mm", "3mm", "4mm")
ACCURACY = ("MRE_px", "MRE_mm") + tuple(f"SDR_{k}" for k in SDR_KEYS)
LATENCY = (("eager", "torch_ms"), ("channels_last", "torch_cl_ms"), ("ort_fp32", "ort_fp32_ms"),
           ("ort_int8", "ort_int8_ms"))

#: the CSV columns, in order (every row has all of them; empty where not measured)
CSV_COLUMNS = ("rank", "model", "plugin", "input", "params_m", "gflops", "MRE_px", "MRE_mm", "SDR_2mm",
               "SDR_2.5mm", "SDR_3mm", "SDR_4mm", "torch_ms", "torch_cl_ms", "ort_fp32_ms", "ort_int8_ms",
               "checkpoint_mb", "weights_mb", "train_min", "iters", "batch", "budget", "sec_per_iter", "runs",
               "seeds", "MRE_mm_moved", "SDR_2mm_moved", "MRE_px_moved", "status")


def run_figures(report: dict) -> dict:
    """The scalars of one test report (the shape ``zoo.evaluation.report.landmark_report`` returns)."""
    out = {"MRE_px": report["MRE_px"]["mean"], "MRE_mm": None}
    out.update({f"SDR_{k}": None for k in SDR_KEYS})
    if report.get("MRE_mm"):
        out["MRE_mm"] = report["MRE_mm"]["mean"]
        out.update({f"SDR_{k}": v for k, v in (report.get("SDR") or {}).items()})
    return out


def _finite(values):
    return [v for v in values if isinstance(v, (int, float)) and math.isfinite(v)]


def aggregate(entry: dict) -> dict:
    """One table row from a model's entry (its runs plus its cost)."""
    runs = [r for r in entry.get("runs", []) if r.get("figures")]
    row = {k: None for k in CSV_COLUMNS}
    row.update(model=entry["model"], plugin=entry.get("plugin"), input=entry.get("input"),
               status=entry.get("status", "ok"), runs=len(runs),
               seeds=" ".join(str(r["seed"]) for r in runs if r.get("seed") is not None) or None)
    for key in ACCURACY:
        values = _finite(r["figures"].get(key) for r in runs)
        row[key] = statistics.fmean(values) if values else None
        if key in ("MRE_mm", "SDR_2mm", "MRE_px") and len(values) > 1:
            row[f"{key}_moved"] = max(values) - min(values)
    train = _finite(r.get("train_s") for r in runs)
    row["train_min"] = statistics.fmean(train) / 60 if train else None
    spi = _finite(r.get("sec_per_iter") for r in runs)
    row["sec_per_iter"] = statistics.fmean(spi) if spi else None
    row["iters"] = entry.get("iters")
    row["batch"] = entry.get("batch")
    row["budget"] = entry.get("budget")
    cost = entry.get("cost") or {}
    row["params_m"], row["gflops"] = cost.get("params_m"), cost.get("gflops")
    for runtime, column in LATENCY:
        r = (cost.get("latency") or {}).get(runtime) or {}
        row[column] = r.get("ms")
    row["checkpoint_mb"], row["weights_mb"] = entry.get("checkpoint_mb"), entry.get("weights_mb")
    return row


def rank_key(rows: list[dict]) -> str:
    """MRE in mm when every row has it, else in pixels."""
    return "MRE_mm" if rows and all(r.get("MRE_mm") is not None for r in rows if r["status"] == "ok") else "MRE_px"


def rank(rows: list[dict]) -> list[dict]:
    """Best first by mean MRE; failed models last, unranked. Ties go by name, so the order is total."""
    key = rank_key(rows)
    ok = sorted((r for r in rows if r["status"] == "ok" and r.get(key) is not None),
                key=lambda r: (round(r[key], 9), r["model"]))
    rest = [r for r in rows if r not in ok]
    for i, r in enumerate(ok, 1):
        r["rank"] = i
    for r in rest:
        r["rank"] = None
    return ok + rest


def ranking(rows: list[dict]) -> list[str]:
    return [r["model"] for r in rows if r.get("rank")]


def per_run_rankings(entries: list[dict]) -> list[list[str]]:
    """The order the models would have had in each repeat alone (repeat i of every model together)."""
    n = max((len(e.get("runs", [])) for e in entries), default=0)
    out = []
    for i in range(n):
        scored = []
        for e in entries:
            runs = e.get("runs", [])
            if i < len(runs) and runs[i].get("figures"):
                f = runs[i]["figures"]
                scored.append((f["MRE_mm"] if f.get("MRE_mm") is not None else f["MRE_px"], e["model"]))
        out.append([m for _, m in sorted(scored)])
    return out


# -- files ------------------------------------------------------------------------------------------------
def _f(x, digits=2, suffix="") -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "-"
    return f"{x:.{digits}f}{suffix}"


def _size(x) -> str:
    """Sizes from kB-models to 100 M parameters: one decimal, or three significant digits when small."""
    if x is None:
        return "-"
    return f"{x:.1f}" if x >= 10 else f"{x:.3g}"


def _with_moved(row, key, digits) -> str:
    text = _f(row.get(key), digits)
    moved = row.get(f"{key}_moved")
    return text if moved is None else f"{text} (±{moved / 2:.{digits}f})"


def markdown_table(rows: list[dict]) -> str:
    head = ["#", "model", "plugin", "input", "params (M)", "GFLOPs", "MRE px", "MRE mm", "SDR 2 mm %",
            "2.5 mm %", "3 mm %", "4 mm %", "torch ms", "ORT fp32 ms", "ORT int8 ms", "checkpoint MB",
            "train min", "budget"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        if r["status"] != "ok":
            lines.append(f"| - | {r['model']} | {r.get('plugin') or '-'} | " + " | ".join(["-"] * (len(head) - 4))
                         + f" | {r['status']} |")
            continue
        cells = [str(r["rank"]), r["model"], r.get("plugin") or "-", r.get("input") or "-", _size(r["params_m"]),
                 _size(r["gflops"]), _with_moved(r, "MRE_px", 2), _with_moved(r, "MRE_mm", 2),
                 _with_moved(r, "SDR_2mm", 1), _f(r["SDR_2.5mm"], 1), _f(r["SDR_3mm"], 1), _f(r["SDR_4mm"], 1),
                 _f(r["torch_ms"], 0), _f(r["ort_fp32_ms"], 0), _f(r["ort_int8_ms"], 0),
                 f"{_size(r['checkpoint_mb'])} ({_size(r['weights_mb'])})", _f(r["train_min"], 1),
                 r.get("budget") or "-"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_csv(rows: list[dict], path: Path) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(CSV_COLUMNS), extrasaction="ignore")
        writer.writeheader()
        for r in rows:
            writer.writerow({k: ("" if r.get(k) is None else (f"{r[k]:.6g}" if isinstance(r[k], float) else r[k]))
                             for k in CSV_COLUMNS})


def write_json(result: dict, path: Path) -> None:
    tmp = path.with_name(path.name + ".partial")
    tmp.write_text(json.dumps(result, indent=2, default=str), encoding="utf-8")
    tmp.replace(path)
