"""Bring your own labels: label_map in every reader of named labels, the set inferred from label names with
"did you mean" suggestions, and the errors of a landmark-set file written by hand."""
import json
from collections import Counter

import numpy as np
import pytest
from data_helpers import ls_task, points, write_image

from zoo.data import AnnotationError, LandmarkSetError, get_landmark_set
from zoo.data.datasets import AarizDataset, CsvLandmarkDataset, ISBI2015Dataset, LabelStudioDataset
from zoo.data.labels import infer_landmark_set, match_labels, parse_label_map, suggest

ISBI = get_landmark_set("isbi2015").symbols
#: how one clinic names the ISBI landmarks: full names, own abbreviations, one typo-free custom name
CLINIC = {"S": "Sella", "N": "Nasion", "Or": "Orbitale", "Po": "Porion", "A": "Point A", "B": "Point B",
          "Pog": "Pogonion", "Me": "Menton", "Gn": "Gnathion", "Go": "Gonion", "LIT": "L1 tip", "UIT": "U1 tip",
          "Ls": "Upper lip", "Li": "Lower lip", "Sn": "Subnasale", "Pog'": "Soft pogonion",
          "PNS": "Posterior nasal spine", "ANS": "Anterior nasal spine", "Ar": "Artic"}


def _ls_export(root, labels_xy: list[tuple[str, tuple]], hw=(60, 50)):
    write_image(root / "img 1.png", hw=hw)
    (root / "export.json").write_text(json.dumps([ls_task(7, "/data/upload/3/abcdef01-img 1.png", labels_xy, hw)]))


def test_label_studio_label_map_renames_and_leaves_out(tmp_path):
    pts = points(19, seed=1)
    labels = [(CLINIC[s], tuple(p)) for s, p in zip(ISBI, pts)] + [("Ruler top", (3.0, 3.0))]
    _ls_export(tmp_path, labels)
    with pytest.raises(AnnotationError, match=r"unknown label 'Soft pogonion' \(did you mean Pog"):
        LabelStudioDataset(ann_file="export.json", data_root=str(tmp_path), landmark_set="isbi2015")
    ds = LabelStudioDataset(ann_file="export.json", data_root=str(tmp_path), landmark_set="isbi2015",
                            label_map={"soft POGONION": "Pog'", "Artic": "Articulare", "Ruler top": None})
    info = ds.get_data_info(0)
    np.testing.assert_allclose(info["keypoints"], pts, atol=1e-4)
    assert info["keypoints_visible"].all()
    assert ds.metainfo["landmark_names"] == ISBI  # the set itself is unchanged: models never see clinic names
    assert ds.label_counts["Ruler top"] == 1 and ds.label_counts["Sella"] == 1


def test_aariz_json_and_csv_header_take_a_label_map(aariz_tree, tmp_path):
    ann = aariz_tree / "Train" / "Annotations" / "Cephalometric Landmarks" / "Senior Orthodontists"
    doc = json.loads((ann / "case2.json").read_text())
    doc["landmarks"][10]["symbol"] = doc["landmarks"][10]["title"] = "Sella point"  # S, renamed
    (ann / "case2.json").write_text(json.dumps(doc))
    with pytest.raises(AnnotationError, match=r"unknown landmark 'Sella point' \(did you mean S 'Sella'\?\)"):
        AarizDataset(data_root=str(aariz_tree), split="train")
    ds = AarizDataset(data_root=str(aariz_tree), split="train", label_map={"Sella point": "S"})
    expected = points(29, seed=11)
    np.testing.assert_allclose(ds.get_data_info(1)["keypoints"], expected, atol=1e-4)

    root = tmp_path / "csv labels"
    write_image(root / "a.png", hw=(60, 50))
    (root / "l.csv").write_text("image,Nasion_x,Nasion_y,Sela_x,Sela_y\na.png,10,11,20,21\n")
    with pytest.raises(AnnotationError, match=r"unknown landmark column 'Sela' \(did you mean S 'Sella'\?\)"):
        CsvLandmarkDataset(ann_file="l.csv", data_root=str(root))
    ds = CsvLandmarkDataset(ann_file="l.csv", data_root=str(root), label_map={"Sela": "S"})
    kp, vis = ds.get_data_info(0)["keypoints"], ds.get_data_info(0)["keypoints_visible"]
    assert kp[ISBI.index("S")].tolist() == [20, 21] and kp[ISBI.index("N")].tolist() == [10, 11] and vis.sum() == 2
    assert ds.label_counts == Counter({"Nasion": 1, "Sela": 1})


def test_csv_named_columns_are_never_read_by_position(tmp_path):
    """S and N are not ruler points: a header naming them must not be read as p1, p2 in order."""
    root = tmp_path / "named"
    write_image(root / "a.png", hw=(60, 50))
    (root / "l.csv").write_text("image,S_x,S_y,N_x,N_y\na.png,1,2,3,4\n")
    ds = CsvLandmarkDataset(ann_file="l.csv", data_root=str(root), landmark_set="ruler")
    assert ds.get_data_info(0)["keypoints_visible"].tolist() == [0.0, 0.0]
    (root / "l.csv").write_text("a.png,1,2,3,4\n")
    with pytest.raises(AnnotationError, match="a label_map needs a header row"):
        CsvLandmarkDataset(ann_file="l.csv", data_root=str(root), landmark_set="ruler", label_map={"x": "p1"})


def test_label_map_errors_are_one_clear_line(isbi_tree):
    lset = get_landmark_set("isbi2015")
    with pytest.raises(LandmarkSetError, match=r"'Sella' -> 'SS', but 'SS' is not a landmark of 'isbi2015'\. "
                                               r"Did you mean 'S'"):
        lset.with_label_map({"Sella": "SS"})
    with pytest.raises(LandmarkSetError, match="'sella' is given twice"):
        lset.with_label_map({"Sella": "S", "sella": "N"})
    with pytest.raises(LandmarkSetError, match="reads its landmarks by position"):
        ISBI2015Dataset(data_root=str(isbi_tree), label_map={"Sella": "S"})
    assert parse_label_map(["Sella=S", " Ruler = ", "a=b=c"]) == {"Sella": "S", "Ruler": None, "a": "b=c"}
    with pytest.raises(LandmarkSetError, match=r"--label-map 'Sella': use LABEL=SYMBOL"):
        parse_label_map(["Sella"])


def test_label_map_file_for_the_cli(tmp_path):
    f = tmp_path / "my map.json"
    f.write_text(json.dumps({"Sella turcica": "S", "Ruler": None}))
    assert parse_label_map([str(f), "Nasion pt=N"]) == {"Sella turcica": "S", "Ruler": None, "Nasion pt": "N"}
    f.write_text(json.dumps(["S"]))
    with pytest.raises(LandmarkSetError, match="a label map file is one JSON object"):
        parse_label_map([str(f)])
    with pytest.raises(LandmarkSetError, match="label map file not found"):
        parse_label_map([str(tmp_path / "absent map.json")])


def test_suggestions_catch_typos_and_names_inside_labels():
    isbi = get_landmark_set("isbi2015")
    assert suggest("Sela", isbi)[0] == "S"
    assert suggest("sella turcica", isbi) == ["S"]
    assert suggest("Point menton", isbi) == ["Me"]
    assert suggest("Gonoin", isbi)[0] == "Go"
    assert suggest("patient age", isbi) == []


def test_soft_tissue_labels_suggest_the_primed_symbol():
    """"SoftPog" got no suggestion (one word to the matcher) and "Soft pogonion" two; a soft-tissue name means the
    primed landmark, and a soft-tissue point the set lacks suggests neither it nor its hard-tissue namesake."""
    isbi, aariz = get_landmark_set("isbi2015"), get_landmark_set("aariz")
    for label in ("SoftPog", "softPogonion", "Soft pogonion", "soft_pog", "Soft tissue Pog"):
        assert suggest(label, isbi) == ["Pog'"], label
    assert suggest("SoftN", aariz) == ["N'"] and suggest("Soft tissue nasion", isbi) == []
    assert suggest("PointMenton", isbi) == ["Me"]  # camel case splits words for every label


def test_inference_picks_the_set_the_labels_fill_and_lists_the_rest():
    labels = Counter({CLINIC[s]: 5 for s in ISBI if s != "Go"})  # 18 clinic names; Gonion never labelled
    labels.update({"Sella turcica": 5, "p1": 5, "tragus": 2})
    inferred = infer_landmark_set(labels)
    best = inferred.best
    assert best.landmark_set.name == "isbi2015"  # ceph31 also names p1, but leaves 15 landmarks unlabelled
    assert inferred.ranking[0] == ("isbi2015", 16, 19) and ("ceph31", 17, 31) in inferred.ranking
    assert best.never_labelled == ["Go", "Pog'", "Ar"]  # two clinic names are no names of the set
    assert best.unknown == {"Artic": ["Ar"], "Sella turcica": ["S"], "Soft pogonion": ["Pog'"],
                            "tragus": []}
    assert best.other_sets == {"p1": ["ceph31", "ruler"]}
    assert not best.ok
    msg = best.mismatch_message()
    assert "16 of the 19 landmarks of 'isbi2015'" in msg and "never labelled: Go, Pog', Ar" in msg
    assert "'Sella turcica' (did you mean S 'Sella'?)" in msg and "--label-map LABEL=SYMBOL" in msg

    fixed = infer_landmark_set(labels, {"Artic": "Ar", "soft POGONION": "Pog'", "sella turcica": None,
                                        "tragus": None})
    assert fixed.best.never_labelled == ["Go"] and fixed.best.unknown == {}
    assert fixed.best.ignored == ["Sella turcica", "tragus"]
    assert match_labels(Counter({"p1": 1, "P2": 1}), get_landmark_set("ruler")).ok


def test_inference_without_one_matching_label_follows_the_suggestions():
    inferred = infer_landmark_set(Counter({"Sela": 1, "Nasoin": 1, "Gonoin": 1}))
    assert inferred.best.landmark_set.name == "isbi2015"
    assert inferred.best.unknown == {"Gonoin": ["Go"], "Nasoin": ["N"], "Sela": ["S"]}
    with pytest.raises(LandmarkSetError, match=r"no built-in landmark set has every symbol .*\(Go_L\)"):
        infer_landmark_set(Counter({"x": 1}), {"x": "Go_L"})


def test_landmark_set_files_written_by_hand(tmp_path):
    good = tmp_path / "my set.json"
    good.write_text(json.dumps({"name": "clinic5", "landmarks": [
        {"symbol": "S", "name": "Sella", "aliases": ["sella turcica"]}, {"symbol": "N"}, {"symbol": "Me"},
        {"symbol": "Go_L"}, {"symbol": "Go_R"}], "flip_pairs": [[3, 4]]}))
    lset = get_landmark_set(str(good))
    assert lset.name == "clinic5" and lset.symbols == ["S", "N", "Me", "Go_L", "Go_R"]
    assert lset.lookup("Sella Turcica") == 0 and lset.flip_pairs == [(3, 4)]
    assert lset.lookup("Nasion") == 1 and lset.lookup("menton") == 2  # built-in names of the same symbols
    assert lset.lookup("Gonion") is None and lset.lookup("p1") is None

    cases = [
        ("[1, 2]", "holds a list, not an object"),
        ('{"landmarks": []}', "'landmarks' must be a non-empty list"),
        ('{"landmarks": [{"name": "Sella"}]}', "landmark 1 has no 'symbol'"),
        ('{"landmarks": [{"symbol": "S"}, {"symbol": "S"}]}', r"symbol\(s\) S appear more than once"),
        ('{"landmarks": [{"symbol": "S", "aliases": "sella"}]}', "'aliases' must be a list"),
        ('{"landmarks": [{"symbol": "S"}], "flip_pairs": [[0, 3]]}', r"flip pair \[0, 3\] is not two indices"),
        ('{"landmarks": [', "not a valid UTF-8 JSON landmark set"),
    ]
    for n, (text, message) in enumerate(cases):
        bad = tmp_path / f"bad {n}.json"
        bad.write_text(text)
        with pytest.raises(LandmarkSetError, match=message) as info:
            get_landmark_set(str(bad))
        assert str(bad) in str(info.value)
    with pytest.raises(LandmarkSetError, match="landmark set file not found: .*absent.json"):
        get_landmark_set(str(tmp_path / "absent.json"))
    (tmp_path / "set.yaml").write_text("landmarks: []")
    with pytest.raises(LandmarkSetError, match="must be JSON"):
        get_landmark_set(str(tmp_path / "set.yaml"))


def test_a_label_map_of_pairs_reads_like_the_mapping_and_a_checkpoint_can_carry_it():
    """Labels hold spaces ("Soft pogonion"), and a checkpoint's stored config takes only identifier keys: the pairs
    form reads the same and passes the stored-config check the mapping fails."""
    from mmengine.config import Config

    from zoo.modelfile import StoredConfigError, config_to_data

    isbi = get_landmark_set("isbi2015")
    pairs = isbi.with_label_map([["Soft pogonion", "Pog'"], ["Ruler top", None]])
    assert pairs.label_map == isbi.with_label_map({"Soft pogonion": "Pog'", "Ruler top": None}).label_map
    assert pairs.lookup("soft POGONION") == isbi.symbols.index("Pog'") and pairs.ignores("Ruler top")
    with pytest.raises(LandmarkSetError, match=r"\[file label, symbol\] pairs"):
        isbi.with_label_map([["Soft pogonion"]])
    dataset = dict(type="LabelStudioDataset", ann_file="x.json", label_map=[["Soft pogonion", "Pog'"]])
    config_to_data(Config(dict(default_scope="zoo", train_dataloader=dict(dataset=dataset))))
    with pytest.raises(StoredConfigError, match="not a Python identifier"):
        config_to_data(Config(dict(default_scope="zoo", train_dataloader=dict(
            dataset={**dataset, "label_map": {"Soft pogonion": "Pog'"}}))))
