"""The machine a benchmark ran on, and its measured peak: without the peak, a latency has no scale.

The peak is the best of several large matrix multiplies, measured in the benchmark's own process and
thread setting: fp32 by torch and by ONNX Runtime (the faster counts), int8 by ONNX Runtime's
``MatMulInteger`` (uint8 x int8, the kernels its QDQ convolutions use).
"""
from __future__ import annotations

import os
import platform
import time


def cores() -> int:
    """CPU cores this process may use (the container's share, not the host's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def _cpu_model() -> str:
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _cpu_flags() -> list[str]:
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                return sorted(f for f in flags if f.startswith(("avx512", "avx2", "amx", "fma")) or f == "avx_vnni")
    except OSError:
        pass
    return []


def machine_info() -> dict:
    import numpy
    import torch

    info = {"platform": platform.platform(), "python": platform.python_version(), "cpu": _cpu_model(),
            "cpu_flags": _cpu_flags(), "cores": cores(), "cpu_count": os.cpu_count(),
            "torch": torch.__version__, "torch_threads": torch.get_num_threads(), "numpy": numpy.__version__}
    try:
        import onnxruntime

        info["onnxruntime"] = onnxruntime.__version__
    except ImportError:  # pragma: no cover
        pass
    if hasattr(os, "getloadavg"):
        info["load_average_at_start"] = [round(v, 2) for v in os.getloadavg()]
    return info


def _best_seconds(fn, repeats: int) -> float:
    fn()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _ort_matmul(n: int, kind: str, threads: int):
    import numpy as np
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    if kind == "int8":
        a = rng.integers(0, 255, (n, n), dtype=np.uint8)
        b = numpy_helper.from_array(rng.integers(-128, 127, (n, n), dtype=np.int8), "B")
        node, in_t, out_t = helper.make_node("MatMulInteger", ["A", "B"], ["C"]), TensorProto.UINT8, TensorProto.INT32
    else:
        a = rng.standard_normal((n, n), dtype=np.float32)
        b = numpy_helper.from_array(rng.standard_normal((n, n), dtype=np.float32), "B")
        node, in_t, out_t = helper.make_node("MatMul", ["A", "B"], ["C"]), TensorProto.FLOAT, TensorProto.FLOAT
    graph = helper.make_graph([node], "matmul", [helper.make_tensor_value_info("A", in_t, [n, n])],
                              [helper.make_tensor_value_info("C", out_t, [n, n])], initializer=[b])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    return lambda: session.run(None, {"A": a})


def peak_gflops(n: int = 2048, repeats: int = 8, threads: int | None = None) -> dict:
    """Best-of-``repeats`` throughput of an n x n x n matrix multiply (2 n^3 operations), GFLOP/s / GOP/s."""
    import torch

    threads = threads or cores()
    ops = 2.0 * n ** 3
    a, b = torch.randn(n, n), torch.randn(n, n)
    out = {"matmul_size": n, "repeats": repeats,
           "fp32_torch": ops / _best_seconds(lambda: torch.mm(a, b), repeats) / 1e9}
    try:
        out["fp32_onnxruntime"] = ops / _best_seconds(_ort_matmul(n, "fp32", threads), repeats) / 1e9
        out["int8_onnxruntime"] = ops / _best_seconds(_ort_matmul(n, "int8", threads), repeats) / 1e9
    except Exception as exc:  # pragma: no cover - onnxruntime is a dependency; report rather than die
        out["onnxruntime_error"] = f"{type(exc).__name__}: {exc}"
    out["fp32"] = max(out["fp32_torch"], out.get("fp32_onnxruntime", 0.0))
    out["int8"] = out.get("int8_onnxruntime")
    return out
