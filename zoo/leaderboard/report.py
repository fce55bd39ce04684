"""``leaderboard.md``: the table, then everything needed to trust it and to re-run it."""
from __future__ import annotations

from . import tables


def _split_line(name: str, s: dict | None) -> str:
    if not s:
        return f"- {name}: -"
    if "error" in s:
        return f"- {name}: could not be described ({s['error']})"
    bits = [f"`{s.get('type')}`", f"split `{s.get('split')}`"]
    if s.get("annotator"):
        bits.append(f"annotator `{s['annotator']}`")
    bits.append(f"{s.get('images')} images ({' ... '.join(s.get('first_last', []))}, "
                f"names sha256 `{s.get('sha256_of_names')}`)")
    return f"- {name}: " + ", ".join(bits) + f" at `{s.get('data_root')}`"


def _anchor_table(anchors: dict) -> list[str]:
    lines = [f"Published figures for context ({anchors['note']}):", "",
             "| method | MRE mm | SDR 2 / 2.5 / 3 / 4 mm (%) |", "|---|---|---|"]
    for a in anchors["rows"]:
        lines.append(f"| {a['method']} | {a['MRE_mm']:.2f} | {' / '.join(f'{v:.2f}' for v in a['SDR'])} |")
    return lines


def write_markdown(result: dict, rows: list[dict], anchors: dict | None = None) -> str:
    m, v, b = result["machine"], result["versions"], result["budget"]
    key = result.get("rank_by", "MRE_mm")
    lines = ["# Leaderboard", ""]
    lines.append(f"Ranked by mean {key.replace('_', ' ')} on the test split (lower is better). "
                 "SDR: share of landmarks within 2 / 2.5 / 3 / 4 mm. Latency: CPU, batch 1, median ms "
                 "(decoder included). Checkpoint MB: the training checkpoint file (weights alone in brackets).")
    lines += ["", tables.markdown_table(rows), ""]
    if result.get("plot"):
        lines += [f"![MRE against CPU latency]({result['plot']})", ""]
    if result["repeats"] > 1:
        per_run = result.get("per_run_rankings") or []
        same = sum(1 for r in per_run if r == result.get("ranking"))
        lines.append(f"{result['repeats']} runs per model (seeds {', '.join(map(str, result['seeds']))}); figures "
                     f"are means, (±x) is half the spread between the runs (max - min); the ranking of single runs "
                     f"matched the table's in {same} of {len(per_run)}.")
        lines.append("")
    if result.get("notes"):
        lines += ["## Notes", ""] + [f"- {note}" for note in result["notes"]] + [""]
    lines += ["## How it was made", ""]
    lines.append(f"- Command: `{result['command']}`")
    lines.append(f"- Budget: {b['rule']}" + (f"; {b['iters']} iterations" if b.get("iters") else "")
                 + (f"; {b['minutes']:g} minutes" if b.get("minutes") else "") + ". (`--budget-minutes` converts "
                 "minutes into an iteration count per model from its own measured seconds per iteration; training "
                 "is never stopped by the clock, which would cut the learning-rate schedule short.)")
    t = result.get("training") or {}
    lines.append(f"- Training: the configs' own recipes; model in channels-last memory format: "
                 f"{'yes' if t.get('channels_last') else 'no'}; torch threads {t.get('torch_threads')}"
                 + (f"; OMP_WAIT_POLICY={t['OMP_WAIT_POLICY']}" if t.get("OMP_WAIT_POLICY") else "") + ".")
    lines.append(f"- Evaluated: {result['evaluated']}; the metric is `zoo.evaluation.LandmarkMetric` "
                 "(`zoo.evaluation.report.landmark_report`), errors in original pixels times the pixel spacing.")
    lines.append(f"- Seed {result['seed']}" + (f" (repeats use {', '.join(map(str, result['seeds']))})"
                                               if result["repeats"] > 1 else "")
                 + "; re-running the command with the same seed reproduces the ranking.")
    split = result.get("split") or {}
    lines.append(_split_line("Training split", split.get("train")))
    lines.append(_split_line("Test split", split.get("test")))
    lat = result["latency"]
    lines.append(f"- Latency: {', '.join(lat['runtimes'])}; {lat['rule']}, {lat['runs']} timed runs; all models "
                 "back to back after the training" + (f" ({lat['remeasured_with']})" if lat.get("remeasured_with")
                                                      else "")
                 + (f", finished {lat['measured']}" if lat.get("measured") else "")
                 + ". ONNX graphs from the zoo's exporters (int8: static QDQ, calibrated on the test config's images).")
    for e in result.get("models", []):
        if (e.get("cost") or {}).get("error"):
            lines.append(f"- {e['model']}: cost not measured ({e['cost']['error']}).")
    loads = [f"{e['model']} {e['cost']['load_average_1min'][0]:.1f}-{e['cost']['load_average_1min'][1]:.1f}"
             for e in result.get("models", []) if (e.get("cost") or {}).get("load_average_1min")]
    if loads:
        lines.append("- 1-minute load average before and after each model's latency runs: " + ", ".join(loads)
                     + f" (on {m.get('cores')} cores; above that, the figures include waiting for a core).")
    lines.append(f"- Machine: {m.get('cpu')}, {m.get('cores')} cores available ({m.get('cpu_count')} in the host), "
                 f"{m.get('platform')}; load average at start {m.get('load_average_at_start')} (a shared machine: "
                 "times move with its load).")
    lines.append("- Versions: " + ", ".join(f"{k} {val}" for k, val in v.items()) + ".")
    if result.get("git_commit"):
        lines.append(f"- Code: commit `{result['git_commit']}`.")
    lines.append(f"- Started {result.get('started')}" + (f", finished {result['finished']} "
                                                          f"({result['wall_min']:.0f} min wall)"
                                                          if result.get("finished") else " (still running)") + ".")
    if anchors:
        lines += ["", "## Context", ""] + _anchor_table(anchors)
    return "\n".join(lines) + "\n"
