"""The two-stage GPU run: the full configuration and the ablation table, in one job.

    python projects/two_stage_isbi/scripts/two_stage_device.py --data ../shared/data/isbi2015 \
        --out work_dirs/two_stage_gpu

It trains ``projects/two_stage_isbi/configs/hrnet_w18_small_isbi_two_stage_gpu_budget.py`` (``--main``; given
more than once, the configurations train side by side, each on the same budget) in the background, on a time
budget that ends its schedule before ``--deadline`` (``zoo train --minutes``), while the ablation configs
(``projects/two_stage_isbi/configs/ablations/*.py``, same budget, same split) train and test in parallel lanes on
the same GPU, then writes ``results.json`` (every row with its command, minutes and figures, the machine and
versions) and each main run's best checkpoint as fp16 parts small enough to copy off a lent machine
(``STEM.partNN``, STEM the config's file name):

    python projects/two_stage_isbi/scripts/two_stage_device.py --unpack OUT/STEM.part* --to work_dirs/two_stage_gpu.pth
    zoo test work_dirs/two_stage_gpu.pth --cfg-options test_dataloader.dataset.data_root=../shared/data/isbi2015

Every step is a ``zoo train`` / ``zoo test`` command (written into the results), so each row can be re-run
alone. ``--deadline`` stops whatever still runs after that many seconds and keeps what finished.
``--smoke`` runs a few iterations of two rows on the CPU, to check the job before a GPU is spent on it.
``--export DIR`` copies ``results.json`` (rewritten as each job ends), the checkpoint parts and a tarball of the
logs there, so a job cut short still leaves what it finished where the lent machine hands files back.
``--lanes none`` gives the GPU to the main run alone; ``--lanes 'refine_stride1,sigma1;no_aug,global_384'``
runs only the rows an earlier job left unfinished.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tarfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
MAIN = "projects/two_stage_isbi/configs/hrnet_w18_small_isbi_two_stage_gpu_budget.py"
#: seconds the main run needs outside its training budget: interpreter, data check and model build before
#: training starts; packing its checkpoint after
MAIN_OVERHEAD_S = 60.0
ABLATION_DIR = "projects/two_stage_isbi/configs/ablations"
# the test-time rows, all from the baseline's checkpoint: (row name, what changes, config or None for the
# checkpoint's own, cfg-options)
TEST_VARIANTS = [
    ("base", "two-stage, 2 refine passes, DARK decoding", None, []),
    ("single_stage", "global stage only (refine passes 0)", None, ["model.test_cfg.iters=0"]),
    ("one_pass", "one refine pass", None, ["model.test_cfg.iters=1"]),
    ("decode_argmax", "refine heatmaps decoded by argmax", f"{ABLATION_DIR}/decode_argmax.py", []),
    ("decode_soft_argmax", "refine heatmaps decoded by soft-argmax", f"{ABLATION_DIR}/decode_soft_argmax.py", []),
]
LANES = [["base"], ["refine_stride4", "refine_stride1", "sigma1"], ["sigma3", "no_aug", "global_384"]]
PART_BYTES = 15 * 1024 * 1024


def parse_lanes(spec: str) -> list[list[str]]:
    """'a,b;c' -> [['a', 'b'], ['c']]; 'none' -> []. Every row must be an ablation config (or 'base')."""
    if spec.strip().lower() == "none":
        return []
    lanes = [[r.strip() for r in lane.split(",") if r.strip()] for lane in spec.split(";") if lane.strip()]
    known = {f.stem for f in (REPO / ABLATION_DIR).glob("*.py")}
    unknown = sorted({r for lane in lanes for r in lane} - known)
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown ablation rows {unknown}; known: {sorted(known)}")
    return lanes


def data_options(root: str) -> list[str]:
    return [f"{d}.dataset.data_root={root}" for d in ("train_dataloader", "val_dataloader", "test_dataloader")]


class Job:
    """One ``zoo`` command in its own process, logging to a file."""

    def __init__(self, name: str, argv: list[str], log: Path, nice: int = 0):
        self.name, self.argv, self.log = name, argv, log
        self.start = time.time()
        self.handle = open(log, "w", encoding="utf-8")
        prefix = ["nice", "-n", str(nice)] if nice and shutil.which("nice") else []
        self.proc = subprocess.Popen([*prefix, sys.executable, "-m", "zoo.cli", *argv], cwd=REPO, stdout=self.handle,
                                     stderr=subprocess.STDOUT, start_new_session=True)

    def wait(self, deadline: float) -> int | None:
        while self.proc.poll() is None:
            if time.time() > deadline:
                self.proc.kill()
                self.proc.wait()
                self.handle.close()
                return None
            time.sleep(1.0)
        self.handle.close()
        return self.proc.returncode

    @property
    def seconds(self) -> float:
        return time.time() - self.start


def newest(work_dir: Path, pattern: str) -> Path | None:
    found = sorted(work_dir.glob(pattern), key=lambda p: p.stat().st_mtime)
    return found[-1] if found else None


class Report:
    """``results.json``, rewritten whenever a job ends (lanes finish in their own threads)."""

    def __init__(self, out: Path, export: Path | None, start: float):
        self.out, self.export, self.start = out, export, start
        self.head = dict(machine=machine(), started=time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(start)))
        self.rows: list = []
        self.main: list = []
        self.lock = threading.Lock()

    def add(self, row: dict) -> None:
        with self.lock:
            self.rows.append(row)
            self._write()

    def set_main(self, main: list) -> None:
        with self.lock:
            self.main = main
            self._write()

    def results(self) -> dict:
        return dict(self.head, wall_minutes=round((time.time() - self.start) / 60, 2), main=self.main,
                    ablation_split="ISBI 2015 TrainingData 131-150 (held out; trained on 001-130)", rows=self.rows)

    def _write(self) -> None:
        text = json.dumps(self.results(), indent=2)
        for folder in filter(None, (self.out, self.export)):
            (folder / "results.json").write_text(text)

    def export_parts(self, parts: list[str]) -> None:
        if self.export is not None:
            for name in parts:
                shutil.copy2(self.out / name, self.export / name)

    def export_logs(self) -> None:
        """The logs so far as one tarball (rewritten: the lanes may still be running the first time)."""
        if self.export is None:
            return
        with tarfile.open(self.export / "logs.tar.gz", "w:gz") as tar:
            for log in sorted(self.out.glob("*.log")) + sorted(self.out.glob("work/*/*/*.log")):
                tar.add(log, arcname=str(log.relative_to(self.out)))


def run_lane(names, args, out: Path, deadline: float, report: Report, opts: list[str], amp: list[str]):
    for name in names:
        cfg = f"{ABLATION_DIR}/{name}.py"
        work = out / "work" / name
        train = ["train", cfg, "--no-test", "--work-dir", str(work), *amp, "--cfg-options", *opts, *args.extra]
        job = Job(f"train {name}", train, out / f"train_{name}.log")
        rc = job.wait(deadline)
        minutes = job.seconds / 60
        ckpt = newest(work, "iter_*.pth")
        if rc != 0 or ckpt is None:
            report.add(dict(row=name, config=cfg, status="timeout" if rc is None else f"failed rc={rc}",
                            train_minutes=round(minutes, 2)))
            continue
        variants = TEST_VARIANTS if name == "base" else TEST_VARIANTS[:1]
        for variant, what, config, extra in variants:
            row = name if variant == "base" else variant
            scores = out / f"test_{row}.json"
            target = [config, str(ckpt)] if config else [str(ckpt)]
            test = ["test", *target, "--out", str(scores), "--cfg-options",
                    f"test_dataloader.dataset.data_root={args.data}", *extra]
            tjob = Job(f"test {row}", test, out / f"test_{row}.log")
            trc = tjob.wait(deadline)
            entry = dict(row=row, config=cfg, change=what if name == "base" else f"{name} (see its config)",
                         train_minutes=round(minutes, 2), train_cmd="zoo " + " ".join(train),
                         test_cmd="zoo " + " ".join(test), status="ok" if trc == 0 else f"test rc={trc}")
            if trc == 0:
                entry["metrics"] = json.loads(scores.read_text())["metrics"]
            report.add(entry)


def pack(ckpt: Path, out: Path, stem: str = "main_ckpt") -> list[str]:
    """The checkpoint's weights as fp16 plus its zoo metadata, cut into parts under 15 MiB named ``STEM.partNN``."""
    import io

    import torch

    from zoo.modelfile import safe_load

    full = safe_load(ckpt)
    state = {k: (v.half() if v.is_floating_point() else v) for k, v in full["state_dict"].items()}
    buf = io.BytesIO()
    torch.save({"state_dict": state, "meta": full.get("meta", {}), "zoo_meta": full["zoo_meta"],
                "note": f"{ckpt.name}: weights cast to fp16 for transfer"}, buf)
    data, names = buf.getvalue(), []
    for i in range(0, len(data), PART_BYTES):
        name = f"{stem}.part{i // PART_BYTES:02d}"
        (out / name).write_bytes(data[i:i + PART_BYTES])
        names.append(name)
    return names


def unpack(parts: list[str], to: str) -> None:
    """Reassemble ``pack``'s parts into a float32 checkpoint that ``zoo test`` / ``zoo export`` take."""
    import io

    import torch

    from zoo.modelfile import atomic_write_bytes, safe_load

    joined = Path(to).with_name(Path(to).name + ".fp16")
    atomic_write_bytes(b"".join(Path(p).read_bytes() for p in sorted(parts)), joined)
    ckpt = safe_load(joined)  # weights_only: parts from a lent machine are data, never code
    joined.unlink()
    ckpt["state_dict"] = {k: (v.float() if v.is_floating_point() else v) for k, v in ckpt["state_dict"].items()}
    buf = io.BytesIO()
    torch.save(ckpt, buf)
    atomic_write_bytes(buf.getvalue(), to)
    print(f"wrote {to} ({len(ckpt['state_dict'])} tensors; {ckpt.get('note', '')})")


def describe(config: str) -> str:
    """An ablation config's first comment line, without its 'Ablation:' prefix."""
    path = REPO / config
    first = path.read_text(encoding="utf-8").splitlines()[0] if path.is_file() else config
    return first.lstrip("# ").removeprefix("Ablation: ").rstrip(".")


def markdown(results: dict) -> str:
    """The ablation table: one row per result, with what changed, the figures and the training minutes."""
    lines = ["| row | what changes | MRE mm | SDR 2 mm | 2.5 mm | 3 mm | 4 mm | train min |",
             "|---|---|---|---|---|---|---|---|"]
    for r in results["rows"]:
        if "(see its config)" in r.get("change", "") or "change" not in r:
            r["change"] = describe(r["config"])
        m = r.get("metrics")
        if m is None:
            lines.append(f"| {r['row']} | {r['change']} | not finished ({r['status']}) | | | | | |")
            continue
        lines.append(f"| {r['row']} | {r['change']} | {m['MRE_mm']:.2f} | {m['SDR_2mm']:.1f} | {m['SDR_2.5mm']:.1f} | "
                     f"{m['SDR_3mm']:.1f} | {m['SDR_4mm']:.1f} | {r['train_minutes']:.1f} |")
    return "\n".join(lines)


def machine() -> dict:
    import torch

    info = dict(python=platform.python_version(), torch=torch.__version__, host=platform.node(),
                cpus=os.cpu_count(), platform=platform.platform())
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        info.update(gpu=props.name, gpu_memory_gib=round(props.total_memory / 2**30, 1))
    return info


def validation_history(work: Path) -> list[dict]:
    """Every validation of a run in order (mmengine's scalars.json, which logs them without their iteration):
    MRE and SDR@2mm, to show how training went; the log names the iterations."""
    found = []
    for scalars in sorted(work.glob("*/vis_data/scalars.json")):
        for line in scalars.read_text(encoding="utf-8").splitlines():
            entry = json.loads(line)
            if "MRE_mm" in entry:
                found.append(dict(MRE_mm=entry["MRE_mm"], SDR_2mm=entry.get("SDR_2mm")))
    return found


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default="../shared/data/isbi2015")
    p.add_argument("--out", default="work_dirs/two_stage_gpu")
    p.add_argument("--export", help="copy results.json (as it grows), checkpoint parts and logs here")
    p.add_argument("--deadline", type=float, default=540.0, help="seconds after which running jobs are stopped")
    p.add_argument("--main", action="append", metavar="CONFIG",
                   help=f"a configuration trained in full; more than one train side by side (default: {MAIN})")
    p.add_argument("--main-minutes", type=float,
                   help=f"its training budget (default: the deadline less {MAIN_OVERHEAD_S:.0f} s; 0: none, the "
                        f"config's own schedule, as the first job ran)")
    p.add_argument("--main-nice", type=int, default=5,
                   help="CPU priority offset of the main run, so the fixed-length ablation rows keep their loaders fed")
    p.add_argument("--smoke", action="store_true", help="a few iterations of two rows on the CPU")
    p.add_argument("--lanes", type=parse_lanes, default=LANES, metavar="SPEC",
                   help="ablation rows to run beside the main config: lanes separated by ';', rows in a lane "
                        "by ',' (e.g. 'refine_stride1,sigma1;no_aug,global_384'); 'none' trains the main "
                        "config alone, with the whole GPU")
    p.add_argument("--unpack", nargs="+", metavar="PART")
    p.add_argument("--to", help="with --unpack: the checkpoint to write")
    p.add_argument("--table", metavar="RESULTS", help="print the ablation rows of a results.json as markdown")
    args = p.parse_args(argv)
    if args.table:
        print(markdown(json.loads(Path(args.table).read_text(encoding="utf-8"))))
        return 0
    if args.unpack:
        unpack(args.unpack, args.to)
        return 0
    import torch

    start = time.time()
    deadline = start + args.deadline
    out = Path(args.out).resolve()
    (out / "work").mkdir(parents=True, exist_ok=True)
    export = Path(args.export).resolve() if args.export else None
    if export is not None:
        export.mkdir(parents=True, exist_ok=True)
    args.data = str(Path(args.data).resolve())
    opts = data_options(args.data)
    amp = ["--amp"] if torch.cuda.is_available() else []
    args.extra = []
    lanes = args.lanes
    minutes = max(0.5, (args.deadline - MAIN_OVERHEAD_S) / 60) if args.main_minutes is None else args.main_minutes
    budget = ["--minutes", f"{minutes:.2f}"] if minutes > 0 else []
    if args.smoke:
        args.extra = ["train_cfg.max_iters=3", "train_cfg.val_interval=3", "default_hooks.checkpoint.interval=3",
                      "train_dataloader.batch_size=2", "train_dataloader.num_workers=1"]
        lanes = [["base"]]
    report = Report(out, export, start)
    configs = args.main or [MAIN]
    stems = [Path(c).stem for c in configs]
    if len(set(stems)) != len(stems):
        p.error(f"--main: two configurations share a file name: {configs}")
    mains = []
    for config, stem in zip(configs, stems):
        work = out / "work" / stem
        argv = ["train", config, "--no-test", "--work-dir", str(work), *amp, *budget, "--cfg-options", *opts,
                *args.extra]
        mains.append((config, stem, work, argv, Job(f"train {stem}", argv, out / f"train_{stem}.log",
                                                   nice=args.main_nice)))
    report.set_main([dict(config=c, train_cmd="zoo " + " ".join(a), status="running") for c, _, _, a, _ in mains])
    threads = [threading.Thread(target=run_lane, args=(lane, args, out, deadline, report, opts, amp))
               for lane in lanes]
    for t in threads:
        t.start()
    rows = []
    for config, stem, work, argv, job in mains:
        rc = job.wait(deadline)
        row = dict(config=config, train_cmd="zoo " + " ".join(argv), train_minutes=round(job.seconds / 60, 2),
                   budget_minutes=round(minutes, 2),
                   status="ok" if rc == 0 else ("timeout" if rc is None else f"failed rc={rc}"),
                   validation=validation_history(work))
        best = newest(work, "best_*.pth") or newest(work, "iter_*.pth")
        if best is not None:
            row["checkpoint"] = best.name
            row["parts"] = pack(best, out, stem)
            report.export_parts(row["parts"])
        rows.append(row)
        report.set_main(rows)
    report.export_logs()
    for t in threads:
        t.join()
    report.set_main(rows)  # the wall time with the lanes done
    report.export_logs()
    print(json.dumps(report.results(), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
