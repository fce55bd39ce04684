"""CPU cost of the refine stage: a two-stage model against its own global stage alone, same process.

    python projects/two_stage_isbi/scripts/two_stage_latency.py [CONFIG] [--runs 20]

CONFIG defaults to the project's first two-stage config. The bar is two-stage inference within 2x of the
single-stage model at the same global resolution. The reference is the same model with ``iters=0`` (the global graph
alone), timed in the same process with its runs interleaved with the two-stage ones, so that load changes hit both
alike; the runtimes are timed one after the other (one block each), since interleaving torch with ONNX Runtime lets
each one's idle worker threads slow the other. Eager torch and ONNX Runtime fp32 (the exporters' graphs; worker
threads sleeping between runs, as ``zoo predict`` runs them, and spinning, ORT's default), batch 1, threads = cores,
random weights, the patch crops included (the whole ``Predictor.predict_array`` on a synthetic full-size image), and
the parts: the crops and the refine graph alone.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO))


def _predictor(backend, meta: dict, refine: bool):
    from zoo.inference import Predictor

    meta = dict(meta)
    if not refine:
        meta.pop("refine", None)
    return Predictor(backend, meta)


def interleaved(fns: dict, runs: int) -> dict:
    """Median ms of each callable, run in turn so that load changes hit all of them alike."""
    times = {k: [] for k in fns}
    for fn in fns.values():  # warm-up
        fn(), fn()
    for _ in range(runs):
        for k, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            times[k].append((time.perf_counter() - t0) * 1e3)
    return {k: statistics.median(v) for k, v in times.items()}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("config", nargs="?", default="projects/two_stage_isbi/configs/hrnet_w18_small_isbi_two_stage.py")
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--out", help="write the figures as JSON")
    args = ap.parse_args(argv)
    import torch

    from zoo.benchmarking.machine import cores, machine_info
    from zoo.engine.config import load_config
    from zoo.exporters.onnx_export import export_onnx
    from zoo.inference.backends import OnnxBackend, TorchBackend
    from zoo.modelfile.exported import stamp_onnx
    from zoo.modelfile.meta import build_zoo_meta
    from zoo.models.refinement import RefineSpec, crop_views
    from zoo.registry import MODELS, load_plugins

    load_plugins()
    torch.set_num_threads(cores())
    cfg = load_config(str(REPO / args.config) if not Path(args.config).is_file() else args.config)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).eval()
    meta = build_zoo_meta(cfg, model)
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (2400, 1935, 3), dtype=np.uint8)  # an ISBI-sized cephalogram
    torch_backend = TorchBackend(model)
    spec = RefineSpec.from_dict(meta["refine"])
    landmarks = rng.uniform((200, 200), (1735, 2200), (model.num_keypoints, 2))

    def crop(reduce_whole=None):  # K patches per test-time view, as the predictor cuts them
        return spec.normalise(crop_views(image, landmarks, spec, reduce_whole=reduce_whole)[0])

    patches = crop()
    # one block per runtime, timed one after the other: torch's and ONNX Runtime's worker threads must
    # not compete with each other's runs, which interleaving them would make them do
    blocks = {"torch": {"torch global only": lambda: _predictor(torch_backend, meta, False).predict_array(image),
                        "torch two-stage": lambda: _predictor(torch_backend, meta, True).predict_array(image),
                        "torch refine graph": lambda: torch_backend.refine(patches)},
              # the predictor's choice, and the two ways it chooses between (the same pixels)
              "crops": {"patch crops + normalise": crop,
                        "crops, one average per patch region": lambda: crop(False),
                        "crops, one average of the image": lambda: crop(True)}}
    with tempfile.TemporaryDirectory() as tmp:
        w, h = meta["preprocess"]["input_size"]
        g, r = Path(tmp) / "g.onnx", Path(tmp) / "r.onnx"
        export_onnx(model, np.zeros((1, 3, h, w), np.float32), g)
        export_onnx(model.refine_graph(), np.zeros((model.num_keypoints, 3, spec.patch_size, spec.patch_size),
                                                   np.float32), r)
        # stamped as `zoo export` stamps a two-stage pair, so zoo predict's own backend opens them
        stamp_onnx(g, {**meta, "refine": {**meta["refine"], "graph": r.name}})
        for spinning in (False, True):
            backend = OnnxBackend(g, threads=cores(), spinning=spinning)
            tag = "ORT fp32" + (" spinning" if spinning else "")
            blocks[tag] = {f"{tag} global only": lambda b=backend: _predictor(b, meta, False).predict_array(image),
                           f"{tag} two-stage": lambda b=backend: _predictor(b, meta, True).predict_array(image),
                           f"{tag} refine graph": lambda b=backend: b.refine(patches)}
        ms = {}
        for block in blocks.values():
            ms.update(interleaved(block, args.runs))
    result = {"config": args.config, "runs": args.runs, "ms": {k: round(v, 1) for k, v in ms.items()},
              "ratio_torch": round(ms["torch two-stage"] / ms["torch global only"], 2),
              "ratio_ort_fp32": round(ms["ORT fp32 two-stage"] / ms["ORT fp32 global only"], 2),
              "ratio_ort_fp32_spinning": round(ms["ORT fp32 spinning two-stage"]
                                               / ms["ORT fp32 spinning global only"], 2),
              "refine": meta["refine"], "machine": machine_info()}
    print(json.dumps(result, indent=2))
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
