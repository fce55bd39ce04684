"""Mixed precision on the CPU: bf16 autocast where the processor computes bf16 natively.

mmengine's ``AmpOptimWrapper`` is CUDA's (fp16 with a loss scaler) and refuses to start on a CPU. Processors with
AVX512-BF16 or AMX (Intel Cooper Lake, Sapphire Rapids and later; AMD Zen 4 and later) run oneDNN's convolutions in
bf16 faster than in fp32 (``benchmarks/cpu_bf16_step.py`` times a training step both ways). bf16 keeps fp32's
exponent range, so no loss scaling is needed: the weights, their gradients and the optimizer stay fp32, and autocast
computes convolutions and matrix products in bf16 (the zoo's losses run in fp32: ``LandmarkDetector.loss_from_output``).
On a processor without native bf16 the same ops are emulated and slower than fp32, so ``zoo train --amp`` uses this
wrapper only where :func:`native_bf16` is true.

    zoo train CONFIG --amp                      # CUDA: AmpOptimWrapper; native-bf16 CPU: this wrapper
    optim_wrapper = dict(type='CPUAutocastOptimWrapper', optimizer=dict(type='AdamW', lr=1e-3))
"""
from __future__ import annotations

from contextlib import contextmanager

import torch
from mmengine.optim import OptimWrapper

from zoo.registry import ZooError
from zoo.registry.registries import OPTIM_WRAPPERS


def native_bf16() -> bool:
    """Whether this CPU has bf16 arithmetic (AVX512-BF16 or AMX tiles), where bf16 autocast is faster."""
    cpu = getattr(torch, "cpu", None)
    for probe in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"):
        check = getattr(cpu, probe, None)
        try:
            if check is not None and check():
                return True
        except RuntimeError:  # a build without the probe's backing library
            continue
    return False


@OPTIM_WRAPPERS.register_module()
class CPUAutocastOptimWrapper(OptimWrapper):
    """An ``OptimWrapper`` whose forward and loss run under ``torch.autocast('cpu', dtype=bfloat16)``.

    Everything else (gradient accumulation, clipping, the optimizer's state in checkpoints) is the plain
    wrapper's, so a run can resume with or without it. Validation and testing are not autocast: predictions
    are decoded in fp32 either way.
    """

    def __init__(self, dtype: str = "bfloat16", **kwargs):
        if dtype != "bfloat16":
            raise ZooError(f"CPUAutocastOptimWrapper: dtype must be 'bfloat16' (CPU autocast without a loss "
                           f"scaler), got {dtype!r}; fp16 mixed precision is AmpOptimWrapper's, on CUDA")
        super().__init__(**kwargs)
        self.cast_dtype = torch.bfloat16

    @contextmanager
    def optim_context(self, model: torch.nn.Module):
        with super().optim_context(model), torch.autocast(device_type="cpu", dtype=self.cast_dtype):
            yield
