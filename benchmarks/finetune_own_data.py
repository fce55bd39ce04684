"""Your own data in one command, measured on ISBI 2015: 18 annotated images through ``zoo train --data``, from the
shipped ``isbi19`` and from scratch, each model tested once on Test1 (150 images, senior annotation).

The 18 images are ISBI TrainingData 131-148, which the shipped model never trained on (the fine-tuning table in
docs/model_zoo.md uses the same ones). They reach the command as a lab's data would: a Label Studio JSON export
(percent coordinates, ``/data/upload/`` references, written with the zoo's own Label Studio writer), the images
in a folder of their own (``--images``) and the pixel size given (``--spacing-mm 0.1``, Label Studio has none).
The command then does everything itself: the seeded validation split (14 train, 4 validate), the recipe, the
checkpoint picked on validation, the quality gate, the test on Test1 (``--test`` the ISBI folder: its Test1Data).

    python benchmarks/finetune_own_data.py [--isbi ../shared/data/isbi2015] [--runs isbi19,scratch] [--minutes M]
    python benchmarks/finetune_own_data.py --table            # the table for configs/two_stage/metafile.yml
    python benchmarks/finetune_own_data.py --write-metafile   # put it there; then python tools/model_index.py

Resumable: each run trains in ``work_dirs/finetune_own_data/<run>``; a run whose row is in the CSV is skipped, a
run killed part-way continues from its last checkpoint (``--resume``), a finished run that was not yet recorded is
recorded from its ``summary.json``. Each finished run appends one row to
``benchmarks/results/finetune_own_data.csv`` with the machine, the date and the command that repeats it.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import shlex
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results" / "finetune_own_data.csv"
WORK = REPO / "work_dirs" / "finetune_own_data"
#: TrainingData 131-148 (1-based file names): images the shipped model never trained on
TRAIN_IDS = range(131, 149)
SPACING = 0.1
#: run name -> what --from says
RUNS = {"isbi19": "isbi19", "scratch": "none"}
COLUMNS = ("started", "command", "run", "start", "train_images", "validation_images", "test_set", "test_images",
           "recipe", "test_mre_mm", "test_median_mm", "test_sdr_2mm", "test_sdr_2.5mm", "test_sdr_3mm",
           "test_sdr_4mm", "validation_mre_mm", "train_minutes", "total_minutes", "quality_gate", "cpu", "cores",
           "cpu_flags", "platform", "torch", "onnxruntime", "python", "load_1min_start", "load_1min_end")


def write_export(isbi: Path, folder: Path) -> Path:
    """The 18 images' senior annotations as a Label Studio JSON export, accepted as annotations."""
    from zoo.data.datasets.isbi2015 import read_isbi_annotation
    from zoo.data.imageio import image_size
    from zoo.data.labelstudio import predictions_to_tasks
    from zoo.data.landmark_sets import get_landmark_set

    symbols = get_landmark_set("isbi2015").symbols
    entries = []
    for i in TRAIN_IDS:
        image = isbi / "RawImage" / "TrainingData" / f"{i:03d}.jpg"
        h, w = image_size(image)
        points = read_isbi_annotation(isbi / "AnnotationsByMD" / "400_senior" / f"{i:03d}.txt")
        entries.append({"image": f"/data/upload/1/{i:08x}-{image.name}", "width": w, "height": h,
                        "landmarks": {s: {"x": float(x), "y": float(y), "confidence": 1.0}
                                      for s, (x, y) in zip(symbols, points)}})
    tasks = []
    for k, task in enumerate(predictions_to_tasks({"model": {}, "predictions": entries}), 1):
        result = [{key: v for key, v in r.items() if key != "score"} for r in task["predictions"][0]["result"]]
        tasks.append({"id": k, "data": task["data"], "annotations": [{"id": 1000 + k, "result": result}]})
    folder.mkdir(parents=True, exist_ok=True)
    export = folder / "project-1-at-isbi18.json"
    export.write_text(json.dumps(tasks), encoding="utf-8")
    return export


def _recorded(path: Path) -> set[str]:
    if not path.is_file():
        return set()
    with path.open(newline="", encoding="utf-8") as f:
        return {row["run"] for row in csv.DictReader(f)}


def command_for(run: str, export: Path, isbi: Path, minutes, work_root: Path = WORK) -> list[str]:
    argv = ["zoo", "train", "--data", str(export), "--images", str(isbi / "RawImage" / "TrainingData"),
            "--spacing-mm", str(SPACING), "--test", str(isbi), "--from", RUNS[run],
            "--work-dir", str(work_root / run)]
    return argv + (["--minutes", str(minutes)] if minutes else [])


def _stamp(line: str) -> datetime:
    """The time an mmengine log line starts with: ``2026/12/07 18:21:01`` in its log file, ``12/07 18:21:01`` on
    the console."""
    if line[4:5] == "/":
        return datetime.strptime(line[:19], "%Y/%m/%d %H:%M:%S")
    return datetime.strptime(line[:14], "%m/%d %H:%M:%S")


def train_minutes(work: Path) -> float | None:
    """Wall minutes of training proper: first to last ``Iter(train)`` line of each log the run wrote (a resumed run
    has one log per start), without the test, the calibration and the pictures."""
    total = 0.0
    for log in sorted(work.glob("*/*.log")):
        stamps = [_stamp(line) for line in log.read_text(errors="replace").splitlines()
                  if "Iter(train)" in line[:70] and line[:2].isdigit()]
        if len(stamps) > 1:
            total += (stamps[-1] - stamps[0]).total_seconds()
    return round(total / 60.0, 2) if total else None


def run_one(run: str, export: Path, isbi: Path, minutes, log, work_root: Path = WORK) -> dict:
    """Train (or resume, or only read back) one run in ``work_root``; its summary."""
    work = work_root / run
    summary = work / "summary.json"
    argv = command_for(run, export, isbi, minutes, work_root)
    elapsed = None
    if not summary.is_file():
        resume = ["--resume"] if any(work.glob("*.pth")) else []
        log(f"{run}: {'resuming' if resume else 'training'} in {work}")
        started = time.perf_counter()
        with (work_root / f"{run}.log").open("a", encoding="utf-8") as out:
            done = subprocess.run([sys.executable, "-m", "zoo.cli", *argv[1:], *resume], cwd=REPO, stdout=out,
                                  stderr=subprocess.STDOUT)
        elapsed = (time.perf_counter() - started) / 60.0
        if done.returncode != 0 or not summary.is_file():
            raise SystemExit(f"{run}: `{shlex.join(argv)}` failed (exit {done.returncode}); see {work_root / run}.log")
    data = json.loads(summary.read_text())
    data["_command"] = shlex.join(argv)
    data["_total_minutes"] = elapsed
    data["_train_minutes"] = train_minutes(work)
    return data


def row_of(run: str, data: dict, started: str, machine: dict) -> dict:
    from zoo.benchmarking.results_csv import machine_columns

    test = data.get("test") or {}
    report = data.get("test_report") or {}
    median = (report.get("MRE_mm") or {}).get("median")
    return {"started": started, "command": data["_command"], "run": run, "start": data.get("start") or "scratch",
            "train_images": data["train_images"], "validation_images": data["validation_images"],
            "test_set": "ISBI 2015 Test1 (senior)", "test_images": data["test_images"],
            "recipe": Path(data["recipe"]).name, "test_mre_mm": test.get("MRE_mm"), "test_median_mm": median,
            **{f"test_sdr_{t}": test.get(f"SDR_{t}") for t in ("2mm", "2.5mm", "3mm", "4mm")},
            "validation_mre_mm": (data.get("validation") or {}).get("MRE_mm"),
            "train_minutes": data["_train_minutes"], "total_minutes": data["_total_minutes"],
            "quality_gate": "; ".join(data.get("quality_gate") or []), **machine_columns(machine)}


TITLE = "Your own data in one command, 18 images"


def table_yaml(path: Path) -> str:
    """The CSV's latest row per run as a ``tables`` entry of ``configs/two_stage/metafile.yml`` (from which
    ``python tools/model_index.py`` writes docs/model_zoo.md), beside the fine-tuning table."""
    with path.open(newline="", encoding="utf-8") as f:
        latest = {row["run"]: row for row in csv.DictReader(f)}
    rows = [latest[run] for run in RUNS if run in latest]
    if not rows:
        raise SystemExit(f"{path} holds no run yet: measure first (python benchmarks/finetune_own_data.py)")
    first = rows[0]
    machine = f"{first['cores']}-core {first['cpu']}, torch {first['torch']}"
    lines = [f"  - title: {TITLE}", "    text: >",
             "      What the one command makes of a lab's handful of annotations: ISBI TrainingData 131-148 as a Label",
             "      Studio export (percent coordinates, the pixel size given), through `zoo train --data`, which split",
             f"      them {first['train_images']} train / {first['validation_images']} validate (seed 0), chose the "
             "recipe, kept the checkpoint",
             "      that read the validation images best, calibrated the quality gate and tested once on Test1 (150",
             f"      images, senior annotation). Train minutes: {machine}, started {first['started'][:10]}.",
             "    rows:"]
    for r in rows:
        sdr = " / ".join(f"{float(r[f'test_sdr_{t}']):.1f}" for t in ("2mm", "2.5mm", "3mm", "4mm"))
        lines.append(f"      - {{start: {r['start']}, images (train + validation): {r['train_images']} + "
                     f"{r['validation_images']}, recipe: {r['recipe']}, Test1 MRE mm: {float(r['test_mre_mm']):.3f}, "
                     f"median mm: {float(r['test_median_mm']):.2f}, SDR 2 / 2.5 / 3 / 4 mm %: {sdr}, "
                     f"train minutes: {r['train_minutes']}}}")
    lines += ["    command: |", "      export OMP_NUM_THREADS=1", "      python benchmarks/finetune_own_data.py",
              *(f"      {r['command']}" for r in rows)]
    return "\n".join(lines) + "\n"


def write_metafile_table(block: str, metafile: Path) -> Path:
    """Put ``block`` into the metafile's ``tables``: in place of an earlier version of the same table, else last."""
    text = metafile.read_text(encoding="utf-8")
    head = f"  - title: {TITLE}\n"
    if head in text:
        start = text.index(head)
        following = text.find("\n  - title: ", start + len(head))
        text = text[:start] + block + (text[following + 1:] if following != -1 else "")
    else:
        text = text.rstrip("\n") + "\n" + block
    metafile.write_text(text, encoding="utf-8")
    return metafile


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--isbi", type=Path, default=REPO.parent / "shared" / "data" / "isbi2015",
                        help="the ISBI 2015 folder (RawImage/, AnnotationsByMD/400_senior/)")
    parser.add_argument("--runs", default=",".join(RUNS), help=f"which runs, comma-separated ({', '.join(RUNS)})")
    parser.add_argument("--minutes", type=float, help="give each run this wall-clock budget (--minutes)")
    parser.add_argument("--csv", type=Path, default=RESULTS)
    parser.add_argument("--work", type=Path, default=WORK, help="where the export and the runs are written")
    parser.add_argument("--table", action="store_true", help="print the metafile table from the CSV and stop")
    parser.add_argument("--write-metafile", action="store_true",
                        help="put the table into configs/two_stage/metafile.yml (then: python tools/model_index.py)")
    args = parser.parse_args(argv)
    if args.table or args.write_metafile:
        block = table_yaml(args.csv)
        if args.write_metafile:
            print(f"wrote {write_metafile_table(block, REPO / 'configs' / 'two_stage' / 'metafile.yml')}; now run "
                  f"`python tools/model_index.py` for docs/model_zoo.md")
        else:
            print(block, end="")
        return
    runs = [r.strip() for r in args.runs.split(",") if r.strip()]
    unknown = [r for r in runs if r not in RUNS]
    if unknown:
        parser.error(f"unknown run(s) {unknown}; known: {', '.join(RUNS)}")
    if not (args.isbi / "RawImage" / "Test1Data").is_dir():
        parser.error(f"ISBI 2015 not found at {args.isbi} (RawImage/TrainingData, RawImage/Test1Data): --isbi PATH")
    from zoo.benchmarking.machine import machine_info
    from zoo.benchmarking.results_csv import append_rows

    export = write_export(args.isbi.resolve(), args.work / "isbi18 export")
    done = _recorded(args.csv)
    for run in runs:
        if run in done:
            print(f"{run}: already in {args.csv}, skipped (delete its row to measure again)", flush=True)
            continue
        started = datetime.now().isoformat(timespec="seconds")
        machine = machine_info()
        data = run_one(run, export, args.isbi.resolve(), args.minutes, lambda m: print(m, flush=True), args.work)
        if hasattr(os, "getloadavg"):
            machine["load_average_at_end"] = [round(v, 2) for v in os.getloadavg()]
        append_rows(args.csv, COLUMNS, [row_of(run, data, started, machine)])
        print(f"{run}: Test1 MRE {(data.get('test') or {}).get('MRE_mm')} mm; recorded in {args.csv}", flush=True)
    print(table_yaml(args.csv), end="")


if __name__ == "__main__":
    main()
