"""The latency benchmark: batch 1, threads = cores, warm-up, then the median of ``runs`` timed calls.

Each model runs as it is served, at its own input size unless told another: ``mode='tensor'`` (decoder
included), and ONNX Runtime executes the graph ``zoo export`` writes (same exporter, same int8
quantization). A two-stage model is timed as its whole predictor (``zoo.benchmarking.predictor``): its
refine graph cannot run without the global stage's landmarks and the patches cut around them. Work per
image comes from ``torch.utils.flop_counter`` (FLOPs = 2 x MACs); achieved GFLOP/s is set against the peak
measured in the same process, which is the physical limit of the machine for that data type.
"""
from __future__ import annotations

import copy
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from zoo.registry import ZooError

from .machine import cores, machine_info, peak_gflops

RUNTIMES = ("eager", "channels_last", "ort_fp32", "ort_int8")
LABELS = {"eager": "torch eager fp32", "channels_last": "torch channels-last fp32",
          "ort_fp32": "ONNX Runtime fp32", "ort_int8": "ONNX Runtime int8 (static QDQ)"}
#: the ISBI 2015 recipes at 512 px (configs/heatmap, configs/regression), by file name
DEFAULT_TARGETS = ("hm_hrnet-w18_b8-2k_isbi19-512", "hm_hrnet-w32_b8-2k_isbi19-512",
                   "hm_hrnet-w48_b4-2k_isbi19-512", "reg_resnet34_b8-2k_isbi19-512")
#: the input side of a config whose test pipeline does not state one
DEFAULT_SIZE = 512


class BenchmarkError(ZooError):
    """A benchmark request that cannot run (bad runs, runtimes or size); the CLI prints it on one line."""


def resolve_target(target) -> Path:
    """A path as given, a bare config name (``hm_hrnet-w18_b8-2k_isbi19-512``) from any family folder of the
    repository's ``configs/``, or a model zoo name (``isbi19``: its verified weights)."""
    from zoo.data.paths import repo_root
    from zoo.model_zoo import resolve_if_name

    p = Path(target)
    if p.exists():
        return p
    file_name = p.name if p.suffix == ".py" else f"{p.name}.py"
    named = sorted(c for c in (repo_root() / "configs").rglob(file_name) if "_base_" not in c.parts)
    if named:
        return named[0]
    model = resolve_if_name(str(target))
    if model is not str(target):
        return Path(model)
    raise ZooError(f"benchmark target not found: {target} (a config, a checkpoint, an .onnx file, a config "
                   f"name from configs/ or a model name from `zoo models`)")


def _load(path: Path):
    """``(model or None, cfg or None, onnx path or None, zoo_meta or None)``; configs get random weights
    (seed 0) and no metadata until a two-stage model needs it (:func:`served_meta`)."""
    import torch

    if path.suffix.lower() == ".onnx":
        return None, None, path, None
    if path.suffix == ".py":
        from zoo.engine.config import load_config
        from zoo.models.weights import without_pretrained
        from zoo.registry import MODELS

        cfg = load_config(path)
        torch.manual_seed(0)
        model_cfg = without_pretrained(cfg.model)
        return MODELS.build(model_cfg).eval(), cfg, None, None
    from zoo.exporters import load_checkpoint
    from zoo.modelfile import checkpoint_config

    model, meta = load_checkpoint(path)
    return model, checkpoint_config(meta, path), None, meta


def load_target(path: Path):
    """``(model or None, cfg or None, onnx path or None)``: configs get random weights (seed 0)."""
    return _load(Path(path))[:3]


def own_input_size(cfg, meta) -> tuple[int, int] | None:
    """``(W, H)`` the model is served at: its metadata's, else its config's test pipeline's; None if neither says."""
    if meta is not None:
        w, h = meta["preprocess"]["input_size"]
        return int(w), int(h)
    if cfg is not None:
        from zoo.modelfile.meta import MetadataError, preprocess_from_config

        try:
            w, h = preprocess_from_config(cfg)["input_size"]
            return int(w), int(h)
        except (MetadataError, AttributeError, KeyError, TypeError):
            return None
    return None


def as_size(size) -> tuple[int, int] | None:
    """``--size``: None (each model's own), a side (square) or ``(W, H)``."""
    if size is None:
        return None
    if isinstance(size, (int, np.integer)):
        size = (size, size)
    w, h = (int(v) for v in size)
    if min(w, h) < 8:
        raise BenchmarkError(f"--size must be at least 8 px, got {w}x{h}")
    return w, h


def served_meta(model, cfg, meta, size: tuple[int, int]) -> dict:
    """The metadata the predictor serves ``model`` with, at input ``size`` (a config's is built from it)."""
    if meta is None:
        from zoo.modelfile.meta import build_zoo_meta

        meta = build_zoo_meta(cfg, model)
    return {**meta, "preprocess": {**meta["preprocess"], "input_size": [int(size[0]), int(size[1])]}}


def timed(fn, runs: int, warmup: int = 3) -> dict:
    """Median (and spread) of ``runs`` calls after ``warmup`` untimed ones, in ms."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return {"ms": statistics.median(times), "min_ms": min(times), "max_ms": max(times), "runs": runs,
            "warmup": warmup}


def count_gflops(model, x) -> float:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter, torch.inference_mode():
        model(x, mode="tensor")
    return counter.get_total_flops() / 1e9


def calibration_inputs(model, cfg, size: tuple[int, int], n: int,
                       channels: int = 3) -> tuple[list[np.ndarray], str]:
    """Up to ``n`` letterboxed images of the config's own data at ``size`` (W, H), else seeded noise (timing only)."""
    from .predictor import data_images

    if cfg is not None and n > 0:
        from zoo.inference import Predictor
        from zoo.modelfile.meta import MetadataError, preprocess_from_config

        try:
            pre = dict(preprocess_from_config(cfg), input_size=list(size))
            paths, source = data_images(cfg, n)
        except MetadataError:
            paths, source = [], ""
        if paths:
            predictor = Predictor(None, {"preprocess": pre, "landmark_symbols": list(model.landmark_symbols)})
            return [predictor.preprocess(predictor.load(p, str(p)))[0] for p in paths], source
    rng = np.random.default_rng(0)
    w, h = size
    return [rng.standard_normal((1, channels, h, w), dtype=np.float32) for _ in range(max(n, 4))], \
        "seeded Gaussian noise (the config's data is absent; timing only)"


def _ort_session(path, threads: int):
    """A session with the options ``zoo predict`` / ``zoo serve`` use, so the figures are theirs."""
    import onnxruntime as ort

    from zoo.inference.backends import ort_session_options

    return ort.InferenceSession(str(path), ort_session_options(threads), providers=["CPUExecutionProvider"])


def bench_target(target, size, runs: int, runtimes, threads: int, calib_n: int, tmpdir: Path,
                 log=print, whole_predictor: bool = False) -> dict:
    """All runtimes of one target at ``size`` (None: the model's own input size; see :func:`as_size`);
    a runtime that fails records its error and the rest go on. ``whole_predictor``: time a single-stage model
    as its whole predictor too (letterbox of the config's first test image, graph, coordinates back to the
    image), as a two-stage model always is, so that models of both kinds are timed on the same work."""
    import hashlib

    import torch

    path = resolve_target(target)
    model, cfg, onnx_path, meta = _load(path)
    name = path.stem
    # exported graphs are cached per target in tmpdir: key them by the full path, since leaderboard runs all
    # end in iter_N.pth and one model's graph must never be timed as another's
    stem = f"{name}-{hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12]}"
    entry: dict = {"name": name, "source": str(path), "runtimes": {}}
    if model is None:  # an exported file runs as what it is, at the size it was exported at
        return _bench_exported(entry, onnx_path, runs, threads, log)
    size = as_size(size) or own_input_size(cfg, meta)
    if size is None:
        size = (DEFAULT_SIZE, DEFAULT_SIZE)
        log(f"  {name}: the config states no input size; timing {DEFAULT_SIZE}x{DEFAULT_SIZE}")
    w, h = size
    channels = int((cfg.model.get("data_preprocessor") or {}).get("channels", 3)) if cfg is not None else 3
    x = torch.randn(1, channels, h, w, generator=torch.Generator().manual_seed(0))
    entry["input_size"] = [w, h]
    entry["params_m"] = sum(p.numel() for p in model.parameters()) / 1e6
    entry["gflops"] = count_gflops(model, x)
    entry["landmarks"] = len(model.landmark_symbols)
    refine = refine_input(model, channels)
    whole = refine is not None or whole_predictor
    if refine is not None:  # two-stage: the whole predictor, its refine graph `passes` times on V x K patches
        xr, passes = refine
        entry["gflops"] += passes * count_gflops(model.refine_graph(), xr)
        entry["refine"] = {"patches": int(xr.shape[0]), "patch_size": int(xr.shape[-1]), "passes": passes}
    if whole:
        from zoo.inference import Predictor

        from .predictor import predictor_for, timing_image

        served = served_meta(model, cfg, meta, size)
        img, entry["image"] = timing_image(Predictor(None, served), cfg)
    entry["timed"] = "predictor" if whole else "graph"
    for runtime in runtimes:
        log(f"  {name}: {LABELS[runtime]} ...")
        try:
            if whole:
                predictor = predictor_for(runtime, model, served, cfg, tmpdir / stem, threads, calib_n, entry)
                result = timed(lambda p=predictor: p.predict_array(img), runs)
                del predictor
            elif runtime == "eager":
                with torch.inference_mode():
                    result = timed(lambda: model(x, mode="tensor"), runs)
            elif runtime == "channels_last":
                cl = copy.deepcopy(model).to(memory_format=torch.channels_last)
                xc = x.contiguous(memory_format=torch.channels_last)
                with torch.inference_mode():
                    result = timed(lambda m=cl, x=xc: m(x, mode="tensor"), runs)
                del cl
            else:
                from zoo.exporters.onnx_export import export_onnx

                file = tmpdir / f"{stem}.onnx"
                if not file.is_file():
                    t0 = time.perf_counter()
                    export_onnx(model, x.numpy(), file)
                    entry["onnx_export_s"] = time.perf_counter() - t0
                if runtime == "ort_int8":
                    from zoo.exporters.onnx_int8 import quantize_qdq

                    calib, source = calibration_inputs(model, cfg, size, calib_n, channels)
                    fp32, file = file, tmpdir / f"{stem}.int8.onnx"
                    t0 = time.perf_counter()
                    quantize_qdq(fp32, file, calib)
                    entry["int8_quantize_s"] = time.perf_counter() - t0
                    entry["calibration"] = source
                session = _ort_session(file, threads)
                feed = {session.get_inputs()[0].name: x.numpy()}
                result = timed(lambda s=session, f=feed: s.run(None, f), runs)
                del session
            entry["runtimes"][runtime] = result
            log(f"  {name}: {LABELS[runtime]}: {result['ms']:.1f} ms")
        except Exception as exc:  # one runtime failing must not lose the others' figures
            entry["runtimes"][runtime] = {"error": f"{type(exc).__name__}: {exc}"}
            log(f"  {name}: {LABELS[runtime]} failed: {type(exc).__name__}: {exc}")
    return entry


def _bench_exported(entry: dict, onnx_path: Path, runs: int, threads: int, log) -> dict:
    """An exported file in ONNX Runtime: its graph on seeded noise, or a two-stage pair as its whole predictor
    on its config's first test image (the refine graph beside it, as ``zoo export`` wrote them)."""
    import onnx

    from zoo.modelfile.exported import read_onnx_meta

    graph = onnx.load(str(onnx_path), load_external_data=False).graph
    quantized = any(n.op_type in ("QuantizeLinear", "QLinearConv", "ConvInteger") for n in graph.node)
    runtime = "ort_int8" if quantized else "ort_fp32"
    meta = read_onnx_meta(onnx_path) or {}
    log(f"  {entry['name']}: {LABELS[runtime]} ...")
    try:
        if meta.get("refine"):
            from zoo.inference import Predictor
            from zoo.modelfile import checkpoint_config

            from .predictor import timing_image

            predictor = Predictor.from_path(onnx_path, threads=threads)
            entry["input_size"] = list(predictor.input_size)
            try:
                cfg = checkpoint_config(meta, onnx_path)
            except ZooError:  # an exported file need not carry its config; then the image is noise
                cfg = None
            img, entry["image"] = timing_image(predictor, cfg)
            entry["timed"] = "predictor"
            result = timed(lambda: predictor.predict_array(img), runs)
        else:
            session = _ort_session(onnx_path, threads)
            inp = session.get_inputs()[0]
            shape = [1 if not isinstance(d, int) else d for d in inp.shape]
            entry["input_size"] = [shape[-1], shape[-2]]
            entry["timed"] = "graph"
            feed = {inp.name: np.random.default_rng(0).standard_normal(shape, dtype=np.float32)}
            result = timed(lambda: session.run(None, feed), runs)
        entry["runtimes"][runtime] = result
        log(f"  {entry['name']}: {LABELS[runtime]}: {result['ms']:.1f} ms")
    except Exception as exc:
        entry["runtimes"][runtime] = {"error": f"{type(exc).__name__}: {exc}"}
        log(f"  {entry['name']}: {LABELS[runtime]} failed: {type(exc).__name__}: {exc}")
    return entry


def refine_input(model, channels: int):
    """A two-stage model's refine batch (K random patches per test-time view) and its number of passes;
    None for one stage."""
    import torch

    if not hasattr(model, "refine_tensor"):
        return None
    spec = model.refine_spec()
    passes = int(spec.iters)
    if passes < 1:
        return None
    g = torch.Generator().manual_seed(1)
    patches = len(spec.views) * model.num_keypoints
    return torch.randn(patches, channels, spec.patch_size, spec.patch_size, generator=g), passes


def _attach_rates(entry: dict, peak: dict) -> None:
    gflops = entry.get("gflops")
    if not gflops:
        return
    for runtime, r in entry["runtimes"].items():
        if "ms" not in r:
            continue
        rate = gflops / (r["ms"] / 1e3)
        r["gflop_per_s"] = rate
        r["share_of_fp32_peak"] = rate / peak["fp32"]
        if runtime == "ort_int8" and peak.get("int8"):
            r["share_of_int8_peak"] = rate / peak["int8"]


def benchmark(targets=None, size=None, runs: int = 20, runtimes=RUNTIMES, threads: int | None = None,
              calib_images: int = 8, note: str | None = None, log=print) -> dict:
    """Run the benchmark; returns the JSON-able result (``markdown_table`` formats it). ``size``: None times
    each model at its own input size, a side or ``(W, H)`` times every model at that size."""
    import torch

    size = as_size(size)
    if runs < 1:
        raise BenchmarkError("--runs must be at least 1")
    unknown = [r for r in runtimes if r not in RUNTIMES]
    if unknown:
        raise BenchmarkError(f"unknown runtime(s) {unknown}; choose from {', '.join(RUNTIMES)}")
    threads = threads or cores()
    torch.set_num_threads(threads)
    started = time.time()
    result = {"machine": machine_info(), "size": list(size) if size else None, "batch": 1, "threads": threads,
              "runs": runs, "note": note, "started": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(started))}
    log(f"measuring the machine's peak ({threads} threads) ...")
    peaks = [peak_gflops(threads=threads)]
    result["models"] = []
    with tempfile.TemporaryDirectory(prefix="zoo-bench-") as tmp:
        for target in targets or DEFAULT_TARGETS:
            log(f"{target}:")
            result["models"].append(bench_target(target, size, runs, runtimes, threads, calib_images, Path(tmp),
                                                 log=log))
    log("measuring the machine's peak again ...")
    peaks.append(peak_gflops(threads=threads))
    best = {k: max(p[k] for p in peaks if p.get(k)) for k in ("fp32", "int8") if any(p.get(k) for p in peaks)}
    result["peak"] = {"fp32": best.get("fp32"), "int8": best.get("int8"), "measurements": peaks,
                      "rule": "best of the measurements before and after the models"}
    for entry in result["models"]:
        _attach_rates(entry, result["peak"])
    result["seconds"] = time.time() - started
    if hasattr(os, "getloadavg"):
        result["machine"]["load_average_at_end"] = [round(v, 2) for v in os.getloadavg()]
    return result


def _cell(r: dict | None, int8: bool = False) -> str:
    if not r:
        return "-"
    if "ms" not in r:
        return "failed"
    text = f"{r['ms']:.0f} ms"
    if "gflop_per_s" in r:
        share = r.get("share_of_int8_peak") if int8 and r.get("share_of_int8_peak") else r["share_of_fp32_peak"]
        text += f" ({r['gflop_per_s']:.0f} GFLOP/s, {100 * share:.0f}%)"
    return text


def size_label(result: dict) -> str:
    """What the result files are named by: the input size every model ran at (``512``, ``256x192``), or
    ``own`` when each ran at a different size of its own."""
    sizes = {tuple(e["input_size"]) for e in result["models"] if e.get("input_size")}
    if len(sizes) != 1:
        return "own"
    [(w, h)] = sizes
    return str(w) if w == h else f"{w}x{h}"


def markdown_table(result: dict) -> str:
    """The README table: one row per model, median ms per runtime with achieved GFLOP/s and % of peak."""
    m, peak = result["machine"], result["peak"]
    head = ["model", "input", "GFLOPs"] + [LABELS[r] for r in RUNTIMES]
    label = size_label(result)
    at = "each model's own input size" if label == "own" else label if "x" in label else f"{label}x{label}"
    lines = [f"CPU latency at {at}, batch {result['batch']}, {result['threads']} threads, median of "
             f"{result['runs']} runs after 3 warm-up runs (configs: random weights; decoder included).",
             "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    whole = []
    for e in result["models"]:
        rt = e["runtimes"]
        name = e["name"]
        if e.get("timed") == "predictor":
            whole.append(f"{name} on {e.get('image', 'one image')}")
            name += " *"
        size = "x".join(str(v) for v in e["input_size"]) if e.get("input_size") else "-"
        cells = [name, size, f"{e['gflops']:.1f}" if e.get("gflops") else "-"]
        cells += [_cell(rt.get(r), int8=(r == "ort_int8")) for r in RUNTIMES]
        lines.append("| " + " | ".join(cells) + " |")
    if whole:
        lines += ["", "\\* two-stage: the whole predictor per image (letterbox, global graph, patch cutting, refine "
                      "graph), " + "; ".join(whole) + "."]
    int8_peak = f", int8 {peak['int8']:.0f} GOP/s (ONNX Runtime MatMulInteger)" if peak.get("int8") else ""
    lines += ["", f"Peak measured in the same process (best {result['threads']}-thread "
                  f"{peak['measurements'][0]['matmul_size']}^3 matrix multiply): fp32 {peak['fp32']:.0f} GFLOP/s"
                  f"{int8_peak}. Percentages: achieved GFLOP/s over the fp32 peak (int8 column: over the int8 peak).",
              f"Machine: {m['cpu']}, {m['cores']} cores ({', '.join(m['cpu_flags'][:6])}), {m['platform']}, "
              f"torch {m['torch']}, onnxruntime {m.get('onnxruntime', '-')}, python {m['python']}."]
    load = [m.get("load_average_at_start"), m.get("load_average_at_end")]
    if all(load):
        lines.append(f"Load average (1/5/15 min) at start {load[0]}, at end {load[1]}.")
    if result.get("note"):
        lines.append(f"Note: {result['note']}")
    return "\n".join(lines)
