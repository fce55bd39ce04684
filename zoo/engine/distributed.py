"""Distributed data parallel on CPU (gloo) under torchrun.

mmengine's pytorch launcher calls ``torch.cuda.set_device`` and wraps models with ``device_ids``, both of
which fail without a GPU. On a CPU-only machine we start the gloo process group ourselves (the Runner then
skips its own init) and wrap with a DDP whose device ids are dropped for CPU modules.
"""
from __future__ import annotations

import torch
from mmengine.model import MMDistributedDataParallel
from mmengine.registry import MODEL_WRAPPERS


@MODEL_WRAPPERS.register_module(name="ZooCPUDistributedDataParallel", force=True)
class CPUDistributedDataParallel(MMDistributedDataParallel):
    """mmengine's DDP wrapper, usable for CPU modules (gloo): device ids only apply to CUDA modules."""

    def __init__(self, module, device_ids=None, **kwargs):
        if not next(module.parameters()).is_cuda:
            device_ids = None
        super().__init__(module=module, device_ids=device_ids, **kwargs)


def setup_cpu_distributed(cfg) -> None:
    """Init gloo from torchrun's environment and select the CPU-capable wrapper."""
    import torch.distributed as dist

    if not dist.is_initialized():
        dist.init_process_group(backend="gloo")
    wrapper = dict(cfg.get("model_wrapper_cfg") or {})
    wrapper.setdefault("type", "ZooCPUDistributedDataParallel")
    wrapper.setdefault("broadcast_buffers", False)
    cfg.model_wrapper_cfg = wrapper
    torch.set_num_threads(max(1, torch.get_num_threads() // dist.get_world_size()))
