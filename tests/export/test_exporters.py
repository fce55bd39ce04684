"""Each format exports, carries its metadata, and passes (or, past its tolerance, fails) its self-check."""
from __future__ import annotations

import json

import numpy as np
import pytest


def test_formats_are_registered():
    from zoo.exporters import FORMATS
    from zoo.registry import EXPORTERS

    for name in FORMATS.values():
        assert name in EXPORTERS.own_names()


@pytest.mark.parametrize("fmt", ["onnx", "torchscript", "onnx-int8"])
def test_export_passes_its_self_check(exports, fmt):
    result = exports[fmt]
    report = result.report
    assert result.path.is_file() and report.passed, report.summary()
    assert report.images == 3 and report.image_source == "the given images"
    assert 0 <= report.max_diff_input_px <= report.tolerance_px
    assert report.mre_change is None  # the synthetic images have no truth
    saved = json.loads(result.report_path.read_text())
    assert saved["passed"] and saved["max_diff_px"] == pytest.approx(report.max_diff_px)
    if fmt != "onnx-int8":  # fp32 reproduces the eager model to float rounding
        assert report.max_diff_input_px < 1e-2
        assert report.batch_max_diff_input_px is not None and report.batch_max_diff_input_px < 1e-2


def test_onnx_carries_its_metadata_and_a_dynamic_batch(exports, hrnet_ckpt):
    import onnx
    import onnxruntime as ort

    from zoo.modelfile import safe_load

    path = exports["onnx"].path
    props = {p.key: p.value for p in onnx.load(str(path)).metadata_props}
    meta = json.loads(props["zoo_meta"])
    original = safe_load(hrnet_ckpt)["zoo_meta"]
    assert meta["preprocess"] == original["preprocess"] and meta["landmark_symbols"] == original["landmark_symbols"]
    assert meta["export"]["format"] == "onnx" and meta["export"]["opset"] == 17
    assert props["landmark_symbols"].split(",")[:3] == ["S", "N", "Or"]
    assert json.loads(props["preprocess"])["input_size"] == [64, 64]
    assert "letterbox" in props["readme"] and props["spacing_rule"].startswith("the model has no ruler landmarks")
    from zoo.modelfile.exported import onnx_props

    ruler = onnx_props(dict(meta, landmark_set="ruler", landmark_symbols=["p1", "p2"], ruler_mm=10.0))
    assert "ruler length 10.0 mm" in ruler["spacing_rule"] and ruler["ruler_mm"] == "10.0"
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    coords, scores = session.run(None, {"input": np.zeros((3, 3, 64, 64), np.float32)})
    assert coords.shape == (3, 19, 2) and scores.shape == (3, 19)


def test_int8_is_static_qdq_per_channel_with_the_decoder_in_float(exports):
    import onnx

    path = exports["onnx-int8"].path
    model = onnx.load(str(path))
    ops = [n.op_type for n in model.graph.node]
    assert ops.count("QuantizeLinear") > 10 and "DynamicQuantizeLinear" not in ops
    inits = {i.name: i for i in model.graph.initializer}
    conv_weight_scales = []
    for node in model.graph.node:
        if node.op_type == "DequantizeLinear" and node.input[0] in inits and inits[node.input[0]].data_type == 3:
            conv_weight_scales.append(len(inits[node.input[1]].dims))  # int8 weights: per-channel scale vector
    assert conv_weight_scales and all(d == 1 for d in conv_weight_scales)
    dequantized = {o for n in model.graph.node if n.op_type == "DequantizeLinear" for o in n.output}
    decoder = [n for n in model.graph.node if "/decoder/" in n.name]
    assert decoder and not [n.name for n in decoder if set(n.input) & dequantized]
    assert not [n.name for n in decoder if n.op_type in ("QuantizeLinear", "DequantizeLinear")]
    assert [n for n in model.graph.node if "/backbone/" in n.name and set(n.input) & dequantized]
    meta = json.loads({p.key: p.value for p in model.metadata_props}["zoo_meta"])
    q = meta["export"]["quantization"]
    assert q["kind"] == "static QDQ" and q["activations"] == "uint8" and q["per_channel"]
    assert q["weights"] == "int8 (7-bit range)"
    assert meta["export"]["calibration"] == {"images": 3, "source": "3 given image(s)"}


def test_torchscript_carries_zoo_meta(exports):
    from zoo.inference.backends import TorchScriptBackend

    backend = TorchScriptBackend(exports["torchscript"].path, trust=True)
    assert backend.meta["export"]["format"] == "torchscript"
    coords, scores = backend(np.zeros((2, 3, 64, 64), np.float32))
    assert coords.shape == (2, 19, 2)


def test_failing_check_keeps_a_marked_file_and_raises(ruler_ckpt, good_images, workdir):
    from zoo.exporters import ExportCheckError
    from zoo.registry import EXPORTERS

    out = workdir / "strict.int8.onnx"
    exporter = EXPORTERS.build(dict(type="OnnxInt8Exporter", tolerance_px=0.0, check_images=2, calib_images=2))
    with pytest.raises(ExportCheckError, match="max coordinate difference .* > tolerance 0") as info:
        exporter.export(ruler_ckpt, out, images=good_images)
    assert not out.exists() and (workdir / "strict.failed.int8.onnx").is_file()
    assert not info.value.report.passed and info.value.report.max_diff_input_px > 0


def test_checkpoint_without_metadata_is_refused(hrnet_ckpt, workdir, capsys):
    import torch

    from zoo.cli import main
    from zoo.modelfile import safe_load

    bare = workdir / "bare weights.pth"
    torch.save({"state_dict": safe_load(hrnet_ckpt)["state_dict"]}, bare)
    with pytest.raises(SystemExit) as info:
        main(["export", str(bare), "--format", "onnx"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "bare weights.pth has no zoo metadata" in err and err.count("\n") == 1
    with pytest.raises(SystemExit) as info:
        main(["predict", str(bare), str(workdir / "imgs")])
    assert info.value.code == 2 and "has no zoo metadata" in capsys.readouterr().err


def test_no_images_to_check_on(hrnet_ckpt):
    from zoo.exporters import ExportError
    from zoo.registry import EXPORTERS

    with pytest.raises(ExportError, match="no real images to check the export on: .*--calib-images"):
        EXPORTERS.build(dict(type="OnnxExporter")).export(hrnet_ckpt, check=True)
    with pytest.raises(ExportError, match="no real images"):  # int8 cannot calibrate on nothing
        EXPORTERS.build(dict(type="OnnxInt8Exporter")).export(hrnet_ckpt, check=False)


def test_unchecked_export_needs_no_images(hrnet_ckpt, workdir):
    from zoo.registry import EXPORTERS

    result = EXPORTERS.build(dict(type="TorchScriptExporter")).export(hrnet_ckpt, workdir / "unchecked.ts",
                                                                      check=False)
    assert result.path.is_file() and result.report is None and result.report_path is None
