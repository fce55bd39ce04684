"""Hostile annotation files: every reader raises only the zoo's errors, naming the file.

Readers: ISBI ``.txt``, Aariz per-image JSON, ``cephalogram_machine_mappings.csv``, Label Studio JSON
exports, and plain landmark CSVs. Inputs: random bytes, the right shape with wrong types, NaN/inf/1e308
and 5000-digit numbers, deeply nested JSON (Python's parser raises RecursionError), and text in latin-1,
UTF-16 and with a BOM. Hypothesis runs derandomized with a modest example count, so CI is stable.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from zoo.data.errors import DataError
from zoo.data.landmark_sets import get_landmark_set
from zoo.registry import ZooError

pytestmark = pytest.mark.timeout(240)

FUZZ = settings(max_examples=100, derandomize=True, database=None, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "latin-1", "cp1252"]
_counts: dict[str, int] = {}


def _count(key):
    _counts[key] = _counts.get(key, 0) + 1


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("hostile annotations ñ")


def _write(path: Path, payload) -> Path:
    """Bytes as given; text in the encoding drawn with it."""
    if isinstance(payload, tuple):
        text, encoding = payload
        payload = text.encode(encoding, errors="replace")
    path.write_bytes(payload)
    return path


def _only_zoo_errors(fn, path: Path):
    try:
        return fn()
    except ZooError as exc:
        assert str(path) in str(exc) or path.name in str(exc), f"the error does not name the file: {exc}"
        return None


NUMBER_TEXT = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers().map(str),
    st.sampled_from(["nan", "inf", "-inf", "1e308", "1e999", "-0", "", " ", "1" * 5000, "0x10", "1,5", "١٢"]),
    st.text(max_size=8),
)
TEXT = st.tuples(st.text(max_size=400), st.sampled_from(ENCODINGS))
RAW = st.binary(max_size=400)
DEEP = ["[" * 100_000, "{\"a\":" * 50_000 + "1" + "}" * 50_000, "[" * 3000 + "]" * 3000]


# -- ISBI txt --------------------------------------------------------------------------------------

ISBI_LINES = st.lists(st.tuples(NUMBER_TEXT, NUMBER_TEXT, st.sampled_from([",", ";", "\t", " ", ",,"])),
                      max_size=30).map(lambda rows: "\n".join(f"{x}{sep}{y}" for x, y, sep in rows))


@FUZZ
@given(payload=st.one_of(RAW, TEXT, st.tuples(ISBI_LINES, st.sampled_from(ENCODINGS))))
@example(payload=b"")
@example(payload=("\n".join(["1e999,5"] * 19), "utf-16"))
def test_isbi_txt(folder, payload):
    from zoo.data.datasets.isbi2015 import read_isbi_annotation

    _count("isbi txt")
    path = _write(folder / "001 ñ.txt", payload)
    out = _only_zoo_errors(lambda: read_isbi_annotation(path), path)
    if out is not None:
        assert out.shape == (19, 2)


# -- Aariz JSON ------------------------------------------------------------------------------------

JSON_LEAF = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
                      st.text(max_size=10))
JSON_ANY = st.recursive(JSON_LEAF, lambda kids: st.lists(kids, max_size=4) | st.dictionaries(
    st.text(max_size=6), kids, max_size=4), max_leaves=20)
SYMBOLS = get_landmark_set("aariz").symbols + ["p1", "Xx", "", "S "]
AARIZ_ENTRY = st.fixed_dictionaries({}, optional={
    "symbol": st.one_of(st.sampled_from(SYMBOLS), JSON_ANY),
    "title": st.one_of(st.sampled_from(SYMBOLS), JSON_ANY),
    "value": st.one_of(st.fixed_dictionaries({"x": st.one_of(JSON_LEAF, JSON_ANY), "y": JSON_LEAF}), JSON_ANY),
})
AARIZ_DOC = st.one_of(JSON_ANY, st.fixed_dictionaries({"landmarks": st.one_of(
    st.lists(st.one_of(AARIZ_ENTRY, JSON_ANY), max_size=8), JSON_ANY)}))


def _json_payloads(doc_strategy):
    return st.one_of(RAW, TEXT, st.sampled_from(DEEP),
                     st.tuples(doc_strategy.map(lambda d: json.dumps(d, allow_nan=True)), st.sampled_from(ENCODINGS)))


@FUZZ
@given(payload=_json_payloads(AARIZ_DOC))
@example(payload=DEEP[0])
@example(payload=DEEP[1])
@example(payload='{"landmarks": [{"symbol": "S", "value": {"x": ' + "1" * 5000 + ', "y": 2}}]}')
@example(payload=(json.dumps({"landmarks": [{"symbol": "S", "value": {"x": 1, "y": 2}}]}), "utf-16"))
def test_aariz_json(folder, payload):
    from zoo.data.datasets.aariz import read_aariz_json

    _count("aariz json")
    path = folder / "cephalogram 007.json"
    path.write_text(payload) if isinstance(payload, str) else _write(path, payload)
    out = _only_zoo_errors(lambda: read_aariz_json(path, get_landmark_set("aariz")), path)
    if out is not None:
        kpts, labelled = out
        assert kpts.shape == (29, 2) and labelled.shape == (29,)


# -- cephalogram_machine_mappings.csv -------------------------------------------------------------

CELL = st.one_of(NUMBER_TEXT, st.text(max_size=12), st.sampled_from(["cephalogram_id", "pixel_size", "a.png"]))
MAPPINGS = st.tuples(
    st.sampled_from(["cephalogram_id,machine,pixel_size", "pixel_size,cephalogram_id", "PIXEL_SIZE , Cephalogram_ID",
                     "id,size", "", "\ufeffcephalogram_id,pixel_size"]),
    st.lists(st.lists(CELL, max_size=4), max_size=6),
).map(lambda t: t[0] + "\n" + "\n".join(",".join(row) for row in t[1]))


@FUZZ
@given(payload=st.one_of(RAW, TEXT, st.tuples(MAPPINGS, st.sampled_from(ENCODINGS))))
@example(payload="pixel_size,cephalogram_id\n0.1\n")
@example(payload="cephalogram_id,pixel_size\n" + "a," + "x" * 200_000 + "\n")
@example(payload=("cephalogram_id,pixel_size\nä.png,0.1\n", "latin-1"))
def test_machine_mappings_csv(folder, payload):
    from zoo.data.datasets.aariz import read_pixel_sizes

    _count("machine mappings csv")
    path = folder / "cephalogram_machine_mappings.csv"
    path.write_text(payload) if isinstance(payload, str) else _write(path, payload)
    out = _only_zoo_errors(lambda: read_pixel_sizes(path), path)
    if out is not None:
        assert all(math.isfinite(v) and v > 0 for v in out.values())


# -- Label Studio export (through the dataset) ------------------------------------------------------

RESULT = st.fixed_dictionaries({}, optional={
    "type": st.sampled_from(["keypointlabels", "rectanglelabels", 3]),
    "original_width": st.one_of(st.integers(-5, 10**6), JSON_LEAF),
    "original_height": st.one_of(st.integers(-5, 10**6), JSON_LEAF),
    "value": st.one_of(st.fixed_dictionaries({
        "x": st.one_of(st.floats(allow_nan=True, allow_infinity=True), JSON_LEAF),
        "y": st.one_of(st.floats(-1e308, 1e308), JSON_LEAF),
        "keypointlabels": st.one_of(st.lists(st.sampled_from(["p1", "p2", "S", "zz"]), max_size=2), JSON_ANY)}),
        JSON_ANY),
})
TASK = st.fixed_dictionaries({}, optional={
    "id": JSON_LEAF,
    "data": st.one_of(st.fixed_dictionaries({"image": st.sampled_from(
        ["/data/upload/6/8f3a2c1d-ceph.png", "ceph.png", "", "http://x/?d=a/ceph.png"])}), JSON_ANY),
    "annotations": st.one_of(st.lists(st.one_of(st.fixed_dictionaries(
        {"result": st.one_of(st.lists(st.one_of(RESULT, JSON_ANY), max_size=4), JSON_ANY)},
        optional={"was_cancelled": JSON_LEAF}), JSON_ANY), max_size=2), JSON_ANY),
    "completions": JSON_ANY,
    "file_upload": JSON_LEAF,
})
EXPORT = st.one_of(st.lists(st.one_of(TASK, JSON_ANY), max_size=4), st.fixed_dictionaries({"tasks": st.lists(TASK)}),
                   JSON_ANY)


@pytest.fixture(scope="module")
def ls_root(tmp_path_factory) -> Path:
    import cv2

    root = tmp_path_factory.mktemp("label studio root")
    cv2.imwrite(str(root / "ceph.png"), np.full((40, 50), 128, np.uint8))
    return root


@FUZZ
@given(payload=_json_payloads(EXPORT))
@example(payload=DEEP[0])
@example(payload=json.dumps([{"data": {"image": "ceph.png"}, "annotations": 5}]))
@example(payload=json.dumps([{"data": {"image": "ceph.png"}, "annotations": [{"result": [{"value": [1]}]}]}]))
def test_label_studio_export(ls_root, payload):
    from zoo.data.datasets.labelstudio import LabelStudioDataset

    _count("label studio json")
    path = ls_root / "export ñ.json"
    path.write_text(payload) if isinstance(payload, str) else _write(path, payload)

    def read():
        ds = LabelStudioDataset(ann_file=path.name, data_root=str(ls_root), lazy_init=True, allow_empty=True)
        return ds.load_data_list()

    out = _only_zoo_errors(read, path)
    for info in out or []:
        assert np.isfinite(info["keypoints"]).all()


# -- plain landmark CSV (through the dataset) -------------------------------------------------------

CSV_HEADERS = st.sampled_from([None, "image,S_x,S_y,N_x,N_y", "image,p1_x,p1_y,spacing", "image,a,b,c,d",
                               "image,S x,S y,pixel_size", "x"])
CSV_ROWS = st.lists(st.tuples(st.sampled_from(["ceph.png", "", "missing.png", "../ceph.png", "ce\x00ph.png"]),
                              st.lists(NUMBER_TEXT, max_size=6)), max_size=5)


@FUZZ
@given(header=CSV_HEADERS, rows=CSV_ROWS, sep=st.sampled_from([",", ";", "\t"]),
       encoding=st.sampled_from(ENCODINGS), raw=st.one_of(st.none(), RAW))
@example(header="image,S_x,S_y", rows=[("ceph.png", ["nan", "5"])], sep=",", encoding="utf-8", raw=None)
@example(header="image,S_x,S_y", rows=[("ceph.png", ["1e308", "1e308"])], sep=",", encoding="utf-8", raw=None)
@example(header=None, rows=[("ceph.png", ["x" * 200_000])], sep=",", encoding="utf-8", raw=None)
def test_landmark_csv(ls_root, header, rows, sep, encoding, raw):
    from zoo.data.datasets.csv_landmarks import CsvLandmarkDataset

    _count("landmark csv")
    lines = ([header.replace(",", sep)] if header else []) + [sep.join([img, *cells]) for img, cells in rows]
    path = ls_root / "landmarks ñ.csv"
    _write(path, raw if raw is not None else ("\n".join(lines), encoding))

    def read():
        ds = CsvLandmarkDataset(ann_file=path.name, data_root=str(ls_root), landmark_set="ruler", lazy_init=True,
                                allow_empty=True)
        return ds.load_data_list()

    out = _only_zoo_errors(read, path)
    for info in out or []:  # whatever was accepted is finite and inside the 50 x 40 image
        kp, vis = info["keypoints"], info["keypoints_visible"] > 0
        assert np.isfinite(kp).all()
        assert (kp[vis, 0] >= -1.0).all() and (kp[vis, 0] <= 50.0).all()


def test_zz_fuzz_tally(tally):
    """Record how many generated cases ran (run last in this module)."""
    assert len(_counts) == 5, _counts
    for key, n in _counts.items():
        tally(f"annotation fuzz: {key}", n=n)


def test_dataset_errors_are_data_errors():
    """The contract the fuzz relies on: every data error is a ZooError."""
    assert issubclass(DataError, ZooError)
