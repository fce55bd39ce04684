"""The latency benchmark: batch 1, threads = cores, warm-up, then the median of ``runs`` timed calls.

Each model runs as it is served: ``mode='tensor'`` (decoder included), and ONNX Runtime executes the
graph ``zoo export`` writes (same exporter, same int8 quantization). Work per image comes from
``torch.utils.flop_counter`` (FLOPs = 2 x MACs); achieved GFLOP/s is set against the peak measured in
the same process, which is the physical limit of the machine for that data type.
"""
from __future__ import annotations

import copy
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from .machine import cores, machine_info, peak_gflops

RUNTIMES = ("eager", "channels_last", "ort_fp32", "ort_int8")
LABELS = {"eager": "torch eager fp32", "channels_last": "torch channels-last fp32",
          "ort_fp32": "ONNX Runtime fp32", "ort_int8": "ONNX Runtime int8 (static QDQ)"}
#: the ISBI 2015 recipes at 512 px (configs/heatmap, configs/regression), by file name
DEFAULT_TARGETS = ("hm_hrnet-w18_b8-2k_isbi19-512", "hm_hrnet-w32_b8-2k_isbi19-512",
                   "hm_hrnet-w48_b4-2k_isbi19-512", "reg_resnet34_b8-2k_isbi19-512")


class BenchmarkError(Exception):
    pass


def resolve_target(target) -> Path:
    """A path as given, or a bare config name (``hm_hrnet-w18_b8-2k_isbi19-512``) from any family folder of the
    repository's ``configs/``."""
    from zoo.data.paths import repo_root

    p = Path(target)
    if p.exists():
        return p
    file_name = p.name if p.suffix == ".py" else f"{p.name}.py"
    named = sorted(c for c in (repo_root() / "configs").rglob(file_name) if "_base_" not in c.parts)
    if named:
        return named[0]
    from zoo.registry import ZooError

    raise ZooError(f"benchmark target not found: {target} (a config, a checkpoint, an .onnx file, or a config "
                   f"name from configs/)")


def load_target(path: Path):
    """``(model or None, cfg or None, onnx path or None)``: configs get random weights (seed 0)."""
    import torch

    if path.suffix.lower() == ".onnx":
        return None, None, path
    if path.suffix == ".py":
        from zoo.engine.config import load_config
        from zoo.models.weights import without_pretrained
        from zoo.registry import MODELS

        cfg = load_config(path)
        torch.manual_seed(0)
        model_cfg = without_pretrained(cfg.model)
        return MODELS.build(model_cfg).eval(), cfg, None
    from zoo.exporters import load_checkpoint
    from zoo.inference.backends import checkpoint_config

    model, meta = load_checkpoint(path)
    return model, checkpoint_config(meta, path), None


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


def calibration_inputs(model, cfg, size: int, n: int) -> tuple[list[np.ndarray], str]:
    """Up to ``n`` letterboxed images of the config's own data at ``size``, else seeded noise (timing only)."""
    if cfg is not None and n > 0:
        from zoo.engine.metadata import MetadataError, preprocess_from_config
        from zoo.exporters.samples import dataset_images
        from zoo.inference import Predictor

        try:
            pre = dict(preprocess_from_config(cfg), input_size=[size, size])
            images, source = dataset_images(cfg)
        except MetadataError:
            images, source = [], ""
        if images:
            predictor = Predictor(None, {"preprocess": pre, "landmark_symbols": list(model.landmark_symbols)})
            chosen = images[:: max(1, len(images) // n)][:n]
            return [predictor.preprocess(predictor.load(i.path, str(i.path)))[0] for i in chosen], \
                f"{len(chosen)} images of {source}"
    rng = np.random.default_rng(0)
    return [rng.standard_normal((1, 3, size, size), dtype=np.float32) for _ in range(max(n, 4))], \
        "seeded Gaussian noise (the config's data is absent; timing only)"


def _ort_session(path, threads: int):
    """A session with the options ``zoo predict`` / ``zoo serve`` use, so the figures are theirs."""
    import onnxruntime as ort

    from zoo.inference.backends import ort_session_options

    return ort.InferenceSession(str(path), ort_session_options(threads), providers=["CPUExecutionProvider"])


def bench_target(target, size: int, runs: int, runtimes, threads: int, calib_n: int, tmpdir: Path,
                 log=print) -> dict:
    """All runtimes of one target; a runtime that fails records its error and the rest go on."""
    import torch

    path = resolve_target(target)
    model, cfg, onnx_path = load_target(path)
    name = path.stem
    # exported graphs are cached per target in tmpdir: key them by the full path, since leaderboard runs all
    # end in iter_N.pth and one model's graph must never be timed as another's
    import hashlib

    stem = f"{name}-{hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12]}"
    entry: dict = {"name": name, "source": str(path), "runtimes": {}}
    x, refine = None, None
    if model is not None:
        channels = int((cfg.model.get("data_preprocessor") or {}).get("channels", 3)) if cfg is not None else 3
        x = torch.randn(1, channels, size, size, generator=torch.Generator().manual_seed(0))
        entry["params_m"] = sum(p.numel() for p in model.parameters()) / 1e6
        entry["gflops"] = count_gflops(model, x)
        entry["landmarks"] = len(model.landmark_symbols)
        refine = refine_input(model, channels)
        if refine is not None:  # two-stage: the refine graph runs `passes` times on one batch of K patches
            xr, passes = refine
            entry["gflops"] += passes * count_gflops(model.refine_graph(), xr)
            entry["refine"] = {"patches": int(xr.shape[0]), "patch_size": int(xr.shape[-1]), "passes": passes}
    else:  # an exported file runs as what it is
        import onnx

        graph = onnx.load(str(onnx_path), load_external_data=False).graph
        quantized = any(n.op_type in ("QuantizeLinear", "QLinearConv", "ConvInteger") for n in graph.node)
        runtimes = ["ort_int8" if quantized else "ort_fp32"]
    for runtime in runtimes:
        log(f"  {name}: {LABELS[runtime]} ...")
        try:
            if runtime == "eager":
                with torch.inference_mode():
                    result = timed(lambda: run_eager(model, x, refine), runs)
            elif runtime == "channels_last":
                cl = copy.deepcopy(model).to(memory_format=torch.channels_last)
                xc = x.contiguous(memory_format=torch.channels_last)
                rc = None if refine is None else (refine[0].contiguous(memory_format=torch.channels_last), refine[1])
                with torch.inference_mode():
                    result = timed(lambda: run_eager(cl, xc, rc), runs)
                del cl
            else:
                from zoo.exporters.onnx_export import export_onnx

                if model is not None:
                    fp32 = tmpdir / f"{stem}.onnx"
                    if not fp32.is_file():
                        t0 = time.perf_counter()
                        export_onnx(model, x.numpy(), fp32)
                        entry["onnx_export_s"] = time.perf_counter() - t0
                    file = fp32
                    calib = None
                    if runtime == "ort_int8":
                        from zoo.exporters.onnx_int8 import quantize_qdq

                        calib, source = calibration_inputs(model, cfg, size, calib_n)
                        file = tmpdir / f"{stem}.int8.onnx"
                        t0 = time.perf_counter()
                        quantize_qdq(fp32, file, calib)
                        entry["int8_quantize_s"] = time.perf_counter() - t0
                        entry["calibration"] = source
                else:
                    file = onnx_path
                session = _ort_session(file, threads)
                inp = session.get_inputs()[0]
                shape = [1 if not isinstance(d, int) else d for d in inp.shape]
                feed = {inp.name: (x.numpy() if x is not None else
                                   np.random.default_rng(0).standard_normal(shape, dtype=np.float32))}
                if model is not None and refine is not None:
                    second = _ort_session(refine_onnx(model, refine[0], file, runtime == "ort_int8", calib), threads)
                    rfeed = {second.get_inputs()[0].name: refine[0].numpy()}

                    def both():
                        session.run(None, feed)
                        for _ in range(refine[1]):
                            second.run(None, rfeed)

                    result = timed(both, runs)
                    del second
                else:
                    result = timed(lambda: session.run(None, feed), runs)
                del session
            entry["runtimes"][runtime] = result
            log(f"  {name}: {LABELS[runtime]}: {result['ms']:.1f} ms")
        except Exception as exc:  # one runtime failing must not lose the others' figures
            entry["runtimes"][runtime] = {"error": f"{type(exc).__name__}: {exc}"}
            log(f"  {name}: {LABELS[runtime]} failed: {type(exc).__name__}: {exc}")
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


def run_eager(model, x, refine) -> None:
    """What serving one image costs in torch: the global graph, then the refine graph ``passes`` times
    (the patch crops between them are OpenCV copies of K small windows, cheap and not timed)."""
    model(x, mode="tensor")
    if refine is not None:
        for _ in range(refine[1]):
            model.refine_tensor(refine[0])


def refine_onnx(model, patches, global_file: Path, int8: bool, calib) -> Path:
    """Export (and for int8 quantize, calibrated on windows of the global stage's calibration images)
    the refine stage beside ``global_file``."""
    from zoo.exporters.onnx_export import export_onnx

    fp32 = global_file.with_name(global_file.name.replace(".int8", "").replace(".onnx", ".refine.onnx"))
    if not fp32.is_file():
        export_onnx(model.refine_graph(), patches.numpy(), fp32)
    if not int8:
        return fp32
    from zoo.exporters.onnx_int8 import quantize_qdq

    p = patches.shape[-1]
    windows = [np.ascontiguousarray(c[:, :, :p, :p]) for c in (calib or []) if c.shape[-1] >= p] or [patches.numpy()]
    out = fp32.with_name(fp32.name.replace(".refine.onnx", ".refine.int8.onnx"))
    quantize_qdq(fp32, out, windows)
    return out


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


def benchmark(targets=None, size: int = 512, runs: int = 20, runtimes=RUNTIMES, threads: int | None = None,
              calib_images: int = 8, note: str | None = None, log=print) -> dict:
    """Run the benchmark; returns the JSON-able result (``markdown_table`` formats it)."""
    import torch

    if runs < 1:
        raise BenchmarkError("--runs must be at least 1")
    unknown = [r for r in runtimes if r not in RUNTIMES]
    if unknown:
        raise BenchmarkError(f"unknown runtime(s) {unknown}; choose from {', '.join(RUNTIMES)}")
    threads = threads or cores()
    torch.set_num_threads(threads)
    started = time.time()
    result = {"machine": machine_info(), "size": size, "batch": 1, "threads": threads, "runs": runs,
              "note": note, "started": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(started))}
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


def markdown_table(result: dict) -> str:
    """The README table: one row per model, median ms per runtime with achieved GFLOP/s and % of peak."""
    m, peak = result["machine"], result["peak"]
    head = ["model", "GFLOPs"] + [LABELS[r] for r in RUNTIMES]
    lines = [f"CPU latency at {result['size']}x{result['size']}, batch {result['batch']}, {result['threads']} "
             f"threads, median of {result['runs']} runs after 3 warm-up runs (random weights; decoder included).",
             "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for e in result["models"]:
        rt = e["runtimes"]
        cells = [e["name"], f"{e['gflops']:.1f}" if e.get("gflops") else "-"]
        cells += [_cell(rt.get(r), int8=(r == "ort_int8")) for r in RUNTIMES]
        lines.append("| " + " | ".join(cells) + " |")
    int8_peak = f", int8 {peak['int8']:.0f} GOP/s (ONNX Runtime MatMulInteger)" if peak.get("int8") else ""
    lines += ["", f"Peak measured in the same process (best {m.get('cores')}-thread "
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
