"""One model on the leaderboard: train it under the budget, test it, measure what it costs.

Everything goes through the zoo's own code paths, so a leaderboard figure is the figure a user gets:
training and testing through ``zoo.engine.entry`` (mmengine's Runner, ``LandmarkMetric``, the one report
code), latency through ``zoo.benchmarking`` (the exporters' ONNX fp32 and int8 QDQ graphs).
"""
from __future__ import annotations

import json
import re
import time
from pathlib import Path

from zoo.registry import ZooError

from .budget import apply_budget, iteration_times, scalar_rows, seconds_per_iter, set_data_root

#: registry kind for each component key of a model config
_COMPONENTS = (("model", "models"), ("backbone", "backbones"), ("neck", "necks"), ("head", "heads"),
               ("decoder", "decoders"), ("loss", "losses"))


class LeaderboardError(ZooError):
    """A leaderboard input is unusable (config, checkpoint, or a mismatch between them)."""


def model_name(path) -> str:
    path = Path(path)
    name = path.stem
    if path.suffix in (".pth", ".pt") and name.startswith(("iter_", "epoch_", "best_")):
        parent = path.parent
        name = f"{parent.name}/{name}"
        if re.fullmatch(r"seed\d+", parent.name) and parent.parent.name:
            name = f"{parent.parent.name}/{name}"
    return name


def plugins_of(cfg) -> dict[str, str]:
    """Which plugin registered each component of the model (``core`` for the zoo's own)."""
    from zoo.registry import origin_of

    out = {}
    # a two-stage model's parts live in its stages (each a detector config of its own)
    stages = [cfg.model] + [cfg.model.get(s) for s in ("global_stage", "refine_stage")
                            if isinstance(cfg.model.get(s), dict)]
    for model in stages:
        for key, kind in _COMPONENTS:
            part = model if key == "model" else model.get(key)
            if isinstance(part, dict) and part.get("type"):
                out[f"{key}:{part['type']}"] = origin_of(kind, part["type"])
    return out


def plugin_label(origins: dict[str, str]) -> str:
    """The plugins behind a model, for the table: the non-core ones, else ``core``."""
    names = sorted({o for o in origins.values() if o not in ("core", "mmengine")})
    return ", ".join(names) or "core"


def input_size(cfg) -> tuple[int, int]:
    """(W, H) of the model input, from the test pipeline's letterbox (what the predictor serves)."""
    from zoo.modelfile.meta import preprocess_from_config

    size = preprocess_from_config(cfg)["input_size"]
    return (int(size[0]), int(size[1]))


def prepare_config(config, *, iters: int, seed: int, work_dir: Path, data_root=None) -> tuple[Path, object]:
    """The resolved config of this run, written into its work dir (the exact recipe, re-runnable)."""
    from zoo.engine.config import load_config

    cfg = load_config(config)
    apply_budget(cfg, iters, seed, work_dir, data_root)
    work_dir.mkdir(parents=True, exist_ok=True)
    path = work_dir / f"{Path(config).stem}.py"
    cfg.dump(str(path))
    return path, cfg


def _train_runner(resolved: Path, work_dir: Path, channels_last: bool) -> None:
    """``zoo train`` without the test (the same config loading, preparation and Runner), optionally with
    the model in channels-last memory format. The hook is registered on the runner, not written into the
    config, so the checkpoints stay loadable by ``zoo test`` and the predictor anywhere."""
    from zoo.engine.config import load_config
    from zoo.engine.runner import build_runner, prepare

    cfg = load_config(resolved)
    prepare(cfg, work_dir=work_dir, phases=("train",))
    runner = build_runner(cfg)
    if channels_last:
        from zoo.engine.hooks import ChannelsLastHook

        runner.register_hook(ChannelsLastHook(), priority="VERY_HIGH")
    runner.train()


def train(resolved: Path, work_dir: Path, channels_last: bool = True) -> dict:
    """Train; returns the last checkpoint, wall time and the measured seconds per iteration."""
    t0 = time.perf_counter()
    _train_runner(resolved, work_dir, channels_last)
    seconds = time.perf_counter() - t0
    last = work_dir / "last_checkpoint"
    if not last.is_file():
        raise LeaderboardError(f"training {resolved} left no checkpoint in {work_dir}")
    checkpoint = Path(last.read_text(encoding="utf-8").strip())
    times = iteration_times(work_dir)
    return {"checkpoint": str(checkpoint), "train_s": seconds,
            "sec_per_iter": seconds_per_iter(times) if times else None, "iters_logged": len(times)}


def probe_throughput(config, *, iters: int, seed: int, work_dir: Path, data_root=None,
                     channels_last: bool = True) -> float:
    """Seconds per iteration of ``config`` on this machine (a short run of the real training loop)."""
    resolved, _ = prepare_config(config, iters=iters, seed=seed, work_dir=work_dir, data_root=data_root)
    _train_runner(resolved, work_dir, channels_last)
    return seconds_per_iter(iteration_times(work_dir))


def _test_loop(checkpoint, work_dir: Path, data_root=None):
    """The Runner's test loop over ``checkpoint``'s own test split, as ``zoo test`` runs it; returns the
    metrics and the ``LandmarkMetric`` (its report and its per-image predictions).

    Only the test loop runs, so a checkpoint trained without a validation split (the quick board's) gets no
    validation sections: mmengine refuses a validation loop and evaluator without a validation loader."""
    from zoo.engine.runner import build_runner, prepare
    from zoo.evaluation.metric import LandmarkMetric

    cfg = test_config_of(checkpoint, data_root)
    cfg.load_from = str(checkpoint)
    cfg.resume = False
    cfg.zoo_strict_load = True  # scoring a checkpoint that does not fit would score random weights
    if not cfg.get("val_dataloader"):
        cfg.val_cfg = cfg.val_evaluator = None
    prepare(cfg, work_dir=Path(work_dir) / "test", phases=("test",))
    runner = build_runner(cfg)
    metrics = runner.test()
    metric = next((m for m in runner.test_evaluator.metrics if isinstance(m, LandmarkMetric)), None)
    if metric is None or metric.last_report is None:
        raise LeaderboardError(f"testing {checkpoint} produced no landmark report (is LandmarkMetric the "
                               "test evaluator?)")
    return metrics, metric


def evaluate(checkpoint, work_dir: Path, data_root=None) -> dict:
    """Test ``checkpoint`` on its config's test split with ``LandmarkMetric``; the full report (also written
    to ``work_dir/test_report.json``, as ``zoo test --out`` writes it)."""
    t0 = time.perf_counter()
    metrics, metric = _test_loop(checkpoint, work_dir, data_root)
    result = {"checkpoint": str(checkpoint), "metrics": metrics, "report": metric.last_report}
    out = Path(work_dir) / "test_report.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    result["test_s"] = time.perf_counter() - t0
    return result


def weights_mb(checkpoint) -> float:
    """Size of the model's tensors alone (what a deployment carries), in MB."""
    from zoo.modelfile import safe_load

    state = safe_load(checkpoint)
    state = state.get("state_dict", state)
    return sum(t.numel() * t.element_size() for t in state.values() if hasattr(t, "numel")) / 1e6


def measure_cost(checkpoint, cfg, *, runtimes, runs: int, calib_images: int, tmpdir: Path, log=print) -> dict:
    """Parameters, GFLOPs at the model's input size, CPU latency per runtime (the benchmark's own code)."""
    import torch

    from zoo.benchmarking.machine import cores
    from zoo.benchmarking.run import bench_target, count_gflops, load_target

    w, h = input_size(cfg)
    model, _, _ = load_target(Path(checkpoint))
    channels = int((cfg.model.get("data_preprocessor") or {}).get("channels", 3))
    x = torch.randn(1, channels, h, w, generator=torch.Generator().manual_seed(0))
    cost = {"input_size": [w, h], "params_m": sum(p.numel() for p in model.parameters()) / 1e6,
            "gflops": count_gflops(model.eval(), x)}
    del model
    if runtimes:
        if w != h:
            log(f"  latency measured at {w}x{w}: the benchmark times square inputs")
        entry = bench_target(str(checkpoint), w, runs, list(runtimes), cores(), calib_images, tmpdir, log=log)
        cost["latency"] = entry["runtimes"]
        cost["latency_runs"] = runs
        if entry.get("calibration"):
            cost["int8_calibration"] = entry["calibration"]
    return cost


def test_config_of(checkpoint, data_root=None):
    from zoo.engine.config import load_config

    cfg = load_config(checkpoint)
    if data_root is not None:
        set_data_root(cfg, data_root)
    return cfg


def test_per_image(checkpoint, work_dir: Path, data_root=None) -> dict:
    """Test ``checkpoint`` on its config's test split as ``zoo test`` does (the Runner's test loop and
    ``LandmarkMetric``), keeping what the report averages away: every image's radial errors.

    Returns ``report`` (the metric's), ``per_image`` (one dict per image: ``image``, ``spacing_mm``,
    ``errors_px`` with None where unlabelled; what paired tests and intervals need), ``landmarks`` (symbols,
    the order of ``errors_px``) and ``test_s``.
    """
    import numpy as np

    t0 = time.perf_counter()
    _, metric = _test_loop(checkpoint, work_dir, data_root)
    per_image = []
    for r in metric.last_predictions:
        radial = np.linalg.norm(np.asarray(r["pred"]) - np.asarray(r["truth"]), axis=-1)
        visible = np.asarray(r["visible"]) > 0
        spacing = r["spacing"] if np.isfinite(r["spacing"]) else None
        per_image.append({"image": Path(r["img_path"]).name, "spacing_mm": spacing,
                          "errors_px": [round(float(e), 4) if v else None for e, v in zip(radial, visible)]})
    return {"report": metric.last_report, "per_image": per_image, "test_s": time.perf_counter() - t0,
            "landmarks": list(metric.dataset_meta["landmark_names"])}


def selected_checkpoint(work_dir: Path) -> tuple[Path, int | None, float | None]:
    """The checkpoint a protocol run picked on its validation split (``best_*.pth``), its iteration and the
    validation MRE it was picked with (the lowest one logged: the rule that picked it)."""
    best = sorted(Path(work_dir).glob("best_*.pth"))
    if len(best) != 1:
        raise LeaderboardError(f"{work_dir}: expected one best_*.pth (the checkpoint picked on the "
                               f"validation split), found {len(best)}")
    found = re.search(r"iter_(\d+)", best[0].stem)
    step = int(found.group(1)) if found else None
    scores = [float(row["MRE"]) for row in scalar_rows(work_dir) if "MRE" in row and "loss" not in row]
    return best[0], step, min(scores) if scores else None
