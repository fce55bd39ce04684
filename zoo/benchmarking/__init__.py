"""CPU latency benchmark: each model in torch eager, channels-last, ONNX Runtime fp32 and int8 (static QDQ),
against the machine's own measured peak. ``zoo benchmark`` and ``tools/benchmark.py`` run it."""
from .machine import machine_info, peak_gflops
from .run import DEFAULT_TARGETS, RUNTIMES, benchmark, markdown_table

__all__ = ["DEFAULT_TARGETS", "RUNTIMES", "benchmark", "machine_info", "markdown_table", "peak_gflops"]
