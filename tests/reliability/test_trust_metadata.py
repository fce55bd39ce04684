"""A model file's metadata is checked when the model is opened, and a file that is not a checkpoint says so.

The predictor trusts the metadata for its input size, normalisation and landmark names, so absurd values
(a 100000 px input: a 120 GB letterbox canvas; a zero std: every input becomes inf; 100000 landmark names
for a 31-landmark graph) must stop ``zoo predict`` / ``zoo serve`` at once with one line naming the field,
never a server that says "ok" and then fails each request or allocates what the machine does not have.
"""
from __future__ import annotations

import pytest
from reliability_helpers import run_cli

#: field path -> absurd value; each must be refused by name
BAD_META = {
    "input_size 1e5": (("preprocess", "input_size"), [100_000, 100_000]),
    "negative input_size": (("preprocess", "input_size"), [-64, 64]),
    "input_size not ints": (("preprocess", "input_size"), ["64", 64]),
    "zero std": (("preprocess", "std"), [0.0, 58.0, 57.0]),
    "std of the wrong length": (("preprocess", "std"), [58.0]),
    "nan mean": (("preprocess", "mean"), [float("nan"), 1.0, 1.0]),
    "7 channels": (("preprocess", "channels"), 7),
    "pad_value 1e9": (("preprocess", "pad_value"), 1e9),
    "100000 landmarks": (("landmark_symbols",), [f"L{i}" for i in range(100_000)]),
    "duplicate landmarks": (("landmark_symbols",), None),  # filled from the real list below
    "no landmarks": (("landmark_symbols",), []),
    "negative ruler": (("ruler_mm",), -10.0),
    "preprocess missing": (("preprocess",), None),
    "refine patch 1e6": (("refine",), {"patch_size": 1_000_000, "patch_scale": 1.0}),
}
FIELD_NAMES = {"input_size": "input_size", "std": "std", "mean": "mean", "channels": "channels",
               "pad_value": "pad_value", "landmark_symbols": "landmark_symbols", "ruler_mm": "ruler_mm",
               "preprocess": "preprocess", "refine": "patch_size"}


def _one_error_line(err: str) -> str:
    assert "Traceback" not in err, err[-2000:]
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, err[-2000:]
    return lines[0]


@pytest.fixture(scope="module")
def image(tiny_data):
    return next((tiny_data / "test").rglob("*.jpg"))


def _with(meta: dict, path: tuple, value) -> dict:
    import copy

    meta = copy.deepcopy(meta)
    target = meta
    for key in path[:-1]:
        target = target[key]
    if value is None and path[-1] == "landmark_symbols":
        value = [meta["landmark_symbols"][0]] * len(meta["landmark_symbols"])
    if value is None:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return meta


@pytest.mark.parametrize("case", sorted(BAD_META))
def test_absurd_checkpoint_metadata_is_refused_when_opened(case, trusted_checkpoint, image, tmp_path, capsys,
                                                           tally):
    import torch

    from zoo.inference import Predictor
    from zoo.modelfile.meta import MetadataError

    path, value = BAD_META[case]
    checkpoint = torch.load(trusted_checkpoint[0], weights_only=True)
    checkpoint["zoo_meta"] = _with(checkpoint["zoo_meta"], path, value)
    ckpt = tmp_path / "bad meta.pth"
    torch.save(checkpoint, ckpt)
    field = FIELD_NAMES[path[-1]]
    with pytest.raises(MetadataError, match=field):
        Predictor.from_path(ckpt)
    for argv in (["predict", ckpt, image, "--out", tmp_path / "p.json"], ["serve", ckpt, "--port", "0"],
                 ["test", ckpt]):
        code, err = run_cli(argv, capsys)
        line = _one_error_line(err)
        assert code == 2 and str(ckpt) in line and field in line, (argv[0], line)
    assert not (tmp_path / "p.json").exists()
    tally("absurd metadata: checkpoint")


@pytest.fixture(scope="module")
def onnx_model(trusted_checkpoint, tmp_path_factory):
    out = tmp_path_factory.mktemp("onnx meta") / "trusted_checkpoint.onnx"
    code = _run_export(trusted_checkpoint[0], out)
    assert code == 0 and out.is_file()
    return out


def _run_export(ckpt, out) -> int:
    from zoo.cli import main

    try:
        main(["export", str(ckpt), "--format", "onnx", "--out", str(out), "--no-check"])
    except SystemExit as exit_info:
        return exit_info.code or 0
    return 0


@pytest.mark.parametrize("case", ["input_size 1e5", "zero std", "100000 landmarks", "7 channels"])
def test_absurd_exported_metadata_is_refused_when_opened(case, onnx_model, image, tmp_path, capsys, tally):
    import shutil

    from zoo.modelfile.exported import read_onnx_meta, stamp_onnx

    path, value = BAD_META[case]
    bad = tmp_path / "bad meta.onnx"
    shutil.copy(onnx_model, bad)
    stamp_onnx(bad, _with(read_onnx_meta(bad), path, value))
    code, err = run_cli(["predict", bad, image, "--out", tmp_path / "p.json"], capsys)
    line = _one_error_line(err)
    assert code == 2 and str(bad) in line and FIELD_NAMES[path[-1]] in line, line
    tally("absurd metadata: onnx")


def test_onnx_graph_that_disagrees_with_its_metadata_is_refused(onnx_model, tmp_path, capsys):
    """Metadata within bounds but not the graph's own input size: the first request would fail in ORT."""
    import shutil

    from zoo.modelfile.exported import read_onnx_meta, stamp_onnx

    bad = tmp_path / "other size.onnx"
    shutil.copy(onnx_model, bad)
    meta = read_onnx_meta(bad)
    meta["preprocess"]["input_size"] = [128, 96]
    stamp_onnx(bad, meta)
    code, err = run_cli(["serve", bad, "--port", "0"], capsys)
    line = _one_error_line(err)
    assert code == 2 and "its graph takes input" in line, line


def test_metadata_naming_other_landmarks_than_the_model_is_refused(trusted_checkpoint, tmp_path, capsys):
    import torch

    checkpoint = torch.load(trusted_checkpoint[0], weights_only=True)
    checkpoint["zoo_meta"]["landmark_symbols"] = checkpoint["zoo_meta"]["landmark_symbols"][:19]
    ckpt = tmp_path / "19 names.pth"
    torch.save(checkpoint, ckpt)
    code, err = run_cli(["serve", ckpt, "--port", "0"], capsys)
    line = _one_error_line(err)
    assert code == 2 and "mislabelled" in line, line


NOT_CHECKPOINTS = {
    "text renamed .pth": (b"this is a text file, not weights\n", "not a PyTorch checkpoint"),
    "empty file": (b"", "empty"),
    "a list": (None, "holds a list"),
    "a tensor": (None, "holds a Tensor"),
}


@pytest.mark.parametrize("case", sorted(NOT_CHECKPOINTS))
def test_files_that_are_not_checkpoints_get_one_clear_line(case, image, tmp_path, capsys, tally):
    import torch

    content, expected = NOT_CHECKPOINTS[case]
    ckpt = tmp_path / "model.pth"
    if content is not None:
        ckpt.write_bytes(content)
    else:
        torch.save([1, 2, 3] if case == "a list" else torch.zeros(3), ckpt)
    for argv in (["predict", ckpt, image], ["test", ckpt], ["export", ckpt, "--format", "onnx"],
                 ["serve", ckpt, "--port", "0"]):
        code, err = run_cli(argv, capsys)
        line = _one_error_line(err)
        assert code == 2 and expected in line and str(ckpt) in line, (argv[0], line)
    tally("not a checkpoint")


@pytest.mark.parametrize("how", ["--load-from", "cfg-options"])
def test_load_from_a_system_text_file_is_refused(how, trusted_checkpoint, tmp_path, capsys, tally):
    from pathlib import Path

    passwd = Path("/etc/passwd")
    if not passwd.is_file():
        passwd = tmp_path / "passwd"
        passwd.write_text("root:x:0:0:root:/root:/bin/bash\n")
    extra = ["--load-from", passwd] if how == "--load-from" else ["--cfg-options", f"load_from={passwd}"]
    work = tmp_path / "work"
    code, err = run_cli(["train", trusted_checkpoint[1], "--work-dir", work, "--no-test", *extra], capsys)
    line = _one_error_line(err)
    assert code == 2 and "not a PyTorch checkpoint" in line and str(passwd) in line, line
    assert not list(work.rglob("*.pth"))
    tally("load_from a text file")
