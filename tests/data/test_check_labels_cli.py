"""``zoo data check`` on a dataset labelled in a clinic's own words: the inferred set, unknown labels with their
likely meaning (text and ``--json``), ``--label-map`` and ``--landmark-set FILE``, and the one-line errors."""
import json

import pytest
from data_helpers import ls_task, points, run_zoo, write_image

from zoo.data import get_landmark_set

ISBI = get_landmark_set("isbi2015").symbols


@pytest.fixture
def clinic_export(tmp_path):
    """Two images labelled with ISBI landmarks under full names, 'Sela' misspelt, an extra 'Ruler top'."""
    root = tmp_path / "clinic export"
    names = {s: get_landmark_set("isbi2015").names[i] for i, s in enumerate(ISBI)}
    names["S"] = "Sela"
    tasks = []
    for n in (1, 2):
        write_image(root / "images" / f"ceph {n}.png", hw=(60, 50))
        labels = [(names[s], tuple(p)) for s, p in zip(ISBI, points(19, seed=n))] + [("Ruler top", (4.0, 4.0))]
        tasks.append(ls_task(n, f"/data/upload/2/0a1b2c3{n}-ceph {n}.png", labels, hw=(60, 50)))
    (root / "project export.json").write_text(json.dumps(tasks))
    return root / "project export.json"


def test_unknown_labels_are_listed_once_with_what_they_probably_mean(clinic_export, capsys):
    code, out, err = run_zoo(["data", "check", str(clinic_export), "--no-decode"], capsys)
    assert code == 1 and "1 problem(s) found" in err
    assert "landmark set: isbi2015 (19 landmarks)" in out
    assert "landmark set inferred from the labels: 18 of 19 landmarks of 'isbi2015' labelled" in out
    assert "unknown labels: 'Ruler top' x2, 'Sela' x2 (did you mean S 'Sella'?)" in out
    assert "never labelled: S" in out
    assert ("the labels match 18 of the 19 landmarks of 'isbi2015'; never labelled: S; unknown labels: "
            "'Ruler top', 'Sela' (did you mean S 'Sella'?). Map a label with --label-map LABEL=SYMBOL") in out
    assert out.count("unknown label") == 2  # once per name in the report and the problem, never per file


def test_json_output_carries_unknown_labels(clinic_export, capsys):
    code, out, _ = run_zoo(["data", "check", str(clinic_export), "--no-decode", "--json"], capsys)
    assert code == 1
    doc = json.loads(out)
    [report] = doc["datasets"]
    assert doc["problems"] == 1 and report["landmark_set"] == "isbi2015" and report["samples"] == 2
    assert report["unknown_labels"] == [{"label": "Ruler top", "count": 2, "suggestions": []},
                                        {"label": "Sela", "count": 2, "suggestions": ["S"]}]
    assert report["landmark_set_inferred"]["ranking"][0] == {"landmark_set": "isbi2015", "labelled": 18,
                                                             "landmarks": 19}
    assert report["labels"]["never_labelled"] == ["S"] and report["problems"][0]["reason"] == "label mismatch"


def test_label_map_on_the_cli_makes_the_check_pass(clinic_export, capsys):
    code, out, err = run_zoo(["data", "check", str(clinic_export), "--no-decode", "--label-map", "Sela=S",
                           "--label-map", "Ruler top="], capsys)
    assert code == 0, out + err
    assert "19 of the 19 landmarks of isbi2015 labelled" in out and "left out by the label map: Ruler top x2" in out
    assert "no problems found" in out


def test_own_landmark_set_file_and_its_count_errors(clinic_export, tmp_path, capsys):
    own = tmp_path / "my sets" / "clinic20.json"
    own.parent.mkdir()
    isbi = get_landmark_set("isbi2015")
    landmarks = [{"symbol": s, "name": n} for s, n in zip(isbi.symbols, isbi.names)]
    landmarks.append({"symbol": "RT", "name": "Ruler top"})
    own.write_text(json.dumps({"name": "clinic20", "landmarks": landmarks}))
    code, out, err = run_zoo(["data", "check", str(clinic_export), "--no-decode", "--landmark-set", str(own),
                           "--label-map", "Sela=S"], capsys)
    assert code == 0, out + err
    assert "landmark set: clinic20 (20 landmarks)" in out and "inferred" not in out

    landmarks.append({"symbol": "Go_L", "name": "Left gonion"})  # a landmark nobody labelled
    own = own.with_name("clinic21.json")
    own.write_text(json.dumps({"name": "clinic21", "landmarks": landmarks}))
    code, out, _ = run_zoo(["data", "check", str(clinic_export), "--no-decode", "--landmark-set", str(own)], capsys)
    assert code == 1
    assert ("the labels match 19 of the 21 landmarks of 'clinic21'; never labelled: S, Go_L; unknown labels: "
            "'Sela' (did you mean S 'Sella'?)") in out


@pytest.mark.parametrize("args, message", [
    (["--label-map", "Sella"], "error: --label-map 'Sella': use LABEL=SYMBOL"),
    (["--label-map", "Sela=SS", "--landmark-set", "isbi2015"],
     "error: label_map: 'Sela' -> 'SS', but 'SS' is not a landmark of 'isbi2015'"),
    (["--label-map", "Sela=SS"], "error: no built-in landmark set has every symbol the label map names (SS)"),
    (["--landmark-set", "absent set.json"], "error: landmark set file not found: absent set.json"),
])
def test_bad_label_options_are_one_line_errors(clinic_export, capsys, args, message):
    code, out, err = run_zoo(["data", "check", str(clinic_export), "--no-decode", *args], capsys)
    assert code == 2 and err.strip().startswith(message), err
    assert len(err.strip().splitlines()) == 1


def test_a_config_names_its_own_set(capsys, repo_root):
    config = repo_root / "configs" / "_base_" / "datasets" / "p1p2.py"
    code, _, err = run_zoo(["data", "check", str(config), "--landmark-set", "isbi2015"], capsys)
    assert code == 2 and "a config names its own landmark_set" in err
