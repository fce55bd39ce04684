"""A two-stage model timed as it serves: the whole ``Predictor`` on one decoded image -- letterbox, global
graph, patch cutting, refine graph -- in each runtime, so the figure is what one ``zoo predict`` image costs.

Timing the two graphs alone would leave out the patch cutting between them and feed the refine graph
patches no global stage chose. The ONNX graphs here are the exporters' own (``export_onnx``,
``quantize_qdq``), stamped with the model's metadata and opened by the serving backend; the int8 refine
graph is calibrated on the patches the eager global stage cuts from real images, as ``zoo export`` does:
each calibration batch must hold whole images' worth of patches (``V x K``), because the refine graph
groups its batch by image to read each patch's own heatmap.
"""
from __future__ import annotations

import copy
from pathlib import Path

import numpy as np

#: without data, the timed image is seeded noise this many times the input size: the patch cutting reads
#: the original image, so a thumbnail would time a cheaper cut than a real cephalogram's
NOISE_IMAGE_SCALE = 4


def data_images(cfg, n: int) -> tuple[list[Path], str]:
    """Up to ``n`` image paths spread over the config's test (else val) data, and where they come from;
    ``([], "")`` when the config names no data or its data is absent."""
    from zoo.exporters.samples import dataset_images

    if cfg is None or n < 1:
        return [], ""
    images, source = dataset_images(cfg)
    chosen = images[:: max(1, len(images) // n)][:n]
    return [i.path for i in chosen], (f"{len(chosen)} images of {source}" if chosen else "")


def timing_image(eager, cfg) -> tuple[np.ndarray, str]:
    """The decoded image every runtime is timed on, and what it is: the config's first test image, else
    seeded noise (see ``NOISE_IMAGE_SCALE``)."""
    paths, _ = data_images(cfg, 1)
    if paths:
        img = eager.load(paths[0], str(paths[0]))
        return img, f"{paths[0].name} ({img.shape[1]}x{img.shape[0]})"
    w, h = eager.input_size
    shape = (h * NOISE_IMAGE_SCALE, w * NOISE_IMAGE_SCALE, eager.channels)
    img = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    return img, f"seeded noise ({shape[1]}x{shape[0]}; the config's data is absent)"


def patches_of(eager, img: np.ndarray) -> np.ndarray:
    """The normalised refine batch serving cuts from ``img``: every view's patch around every landmark the
    (eager) global stage finds, ``(V*K, C, P, P)``."""
    from zoo.models.refinement import crop_views

    coords, _ = eager.global_array(img)
    patches, _ = crop_views(img, coords, eager.refine)
    return eager.refine.normalise(patches)


def _noise_batches(shape, n: int) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.standard_normal(shape, dtype=np.float32) for _ in range(max(n, 4))]


def calibration(eager, cfg, n: int) -> tuple[list[np.ndarray], list[np.ndarray], str]:
    """``(global inputs, refine batches, source)`` calibrating the int8 graphs: real images of the config's
    data and the patches cut from them, else seeded noise of the right shapes (timing only); no refine
    batches for a single-stage model."""
    spec = eager.refine
    paths, source = data_images(cfg, n)
    if paths:
        images = [eager.load(p, str(p)) for p in paths]
        patches = [patches_of(eager, img) for img in images] if spec is not None else []
        return [eager.preprocess(img)[0] for img in images], patches, source
    w, h = eager.input_size
    refine = [] if spec is None else _noise_batches(
        (len(spec.views) * len(eager.symbols), spec.channels, spec.patch_size, spec.patch_size), n)
    return (_noise_batches((1, eager.channels, h, w), n), refine,
            "seeded Gaussian noise (the config's data is absent; timing only)")


def _stamp_pair(meta: dict, global_file: Path, refine_file: Path) -> None:
    """Write the metadata that lets ``OnnxBackend`` open ``global_file`` with its refine graph beside it."""
    from zoo.modelfile.exported import stamp_onnx

    stamp_onnx(global_file, {**meta, "refine": {**meta["refine"], "graph": refine_file.name}})
    stamp_onnx(refine_file, {**meta, "graph_role": "refine", "refine_of": global_file.name})


def _stamp_single(meta: dict, graph_file: Path) -> None:
    """Write the metadata that lets ``OnnxBackend`` serve a single-stage ``graph_file``."""
    from zoo.modelfile.exported import stamp_onnx

    stamp_onnx(graph_file, meta)


def onnx_pair(model, meta: dict, eager, cfg, stem: Path, int8: bool, calib_n: int, info: dict) -> Path:
    """The global graph of ``model`` with its refine graph beside it (``stem``.onnx / ``stem``.refine.onnx,
    ``.int8`` before ``.onnx`` when quantized), made once; returns the global graph. A single-stage model has
    the global graph alone. ``info`` gets the export and quantization times and the calibration source."""
    import time

    from zoo.exporters.onnx_export import export_onnx

    spec = eager.refine
    fp32, fp32_refine = stem.with_name(stem.name + ".onnx"), stem.with_name(stem.name + ".refine.onnx")
    if not fp32.is_file():
        t0 = time.perf_counter()
        w, h = eager.input_size
        export_onnx(model, np.zeros((1, eager.channels, h, w), np.float32), fp32)
        if spec is None:
            _stamp_single(meta, fp32)
        else:
            patches = np.zeros((len(spec.views) * len(eager.symbols), spec.channels, spec.patch_size,
                                spec.patch_size), np.float32)
            export_onnx(model.refine_graph(), patches, fp32_refine)
            _stamp_pair(meta, fp32, fp32_refine)
        info["onnx_export_s"] = time.perf_counter() - t0
    if not int8:
        return fp32
    from zoo.exporters.onnx_int8 import quantize_qdq

    q, q_refine = stem.with_name(stem.name + ".int8.onnx"), stem.with_name(stem.name + ".refine.int8.onnx")
    if not q.is_file():
        t0 = time.perf_counter()
        global_calib, refine_calib, source = calibration(eager, cfg, calib_n)
        quantize_qdq(fp32, q, global_calib)
        if spec is None:
            _stamp_single(meta, q)
        else:
            quantize_qdq(fp32_refine, q_refine, refine_calib)
            _stamp_pair(meta, q, q_refine)
        info["int8_quantize_s"] = time.perf_counter() - t0
        info["calibration"] = source
    return q


def predictor_for(runtime: str, model, meta: dict, cfg, stem: Path, threads: int, calib_n: int, info: dict):
    """The ``Predictor`` serving ``model`` in ``runtime`` (eager, channels_last, ort_fp32, ort_int8)."""
    from zoo.inference import Predictor
    from zoo.inference.backends import TorchBackend

    eager = Predictor(TorchBackend(model), meta)
    if runtime == "eager":
        return eager
    if runtime == "channels_last":
        return Predictor(TorchBackend(copy.deepcopy(model), channels_last=True), meta)
    path = onnx_pair(model, meta, eager, cfg, stem, runtime == "ort_int8", calib_n, info)
    return Predictor.from_path(path, threads=threads)
