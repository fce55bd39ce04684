"""TorchScript: a traced detector (decoder included) for C++/libtorch or Python without the zoo's code."""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np

from zoo.modelfile.exported import META_KEY
from zoo.registry import EXPORTERS

from .base import BaseExporter
from .onnx_export import tensor_mode


@EXPORTERS.register_module()
class TorchScriptExporter(BaseExporter):
    """TorchScript by tracing, with ``zoo_meta.json`` inside the archive (``torch.jit.load(_extra_files=...)``).

    Tracing records the input size as a constant (the decoder maps heatmap to input pixels for that size),
    which is what the metadata promises; the batch size stays free.
    """

    format = "torchscript"
    suffix = ".torchscript.pt"
    dynamic_batch = True
    default_tolerance_px = 0.1
    default_tolerance_mre = 0.02

    def convert(self, model, meta, out, example, calibration=None):
        import torch

        x = torch.from_numpy(np.ascontiguousarray(example, dtype=np.float32))
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # TracerWarnings about shape-dependent Python values
            traced = torch.jit.trace(tensor_mode(model), (x,), check_trace=False)
        traced = torch.jit.freeze(traced.eval()) if hasattr(torch.jit, "freeze") else traced
        torch.jit.save(traced, str(out), _extra_files={f"{META_KEY}.json": json.dumps(meta)})
        return Path(out)
