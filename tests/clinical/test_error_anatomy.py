"""The two-stage project's error_anatomy.py: a model's error split into a fixed per-landmark offset and the
spread, and the error of the mean of several runs."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from zoo.clinical.isbi import ISBI_SYMBOLS


@pytest.fixture(scope="module")
def anatomy_script(project_script):
    return project_script("two_stage_isbi", "error_anatomy")


def test_geometric_median_is_the_least_summed_distance_and_ignores_a_far_outlier(anatomy_script):
    square = np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 2.0], [2.0, 2.0]])
    np.testing.assert_allclose(anatomy_script.geometric_median(square), [1.0, 1.0], atol=1e-9)
    cluster = np.array([[0.0, 0.0], [0.1, 0.0], [0.0, 0.1], [-0.1, 0.0], [0.0, -0.1], [50.0, 50.0]])
    centre = anatomy_script.geometric_median(cluster)
    assert np.hypot(*centre) < 0.2 < np.hypot(*cluster.mean(axis=0))  # the mean follows the outlier
    total = lambda c: np.hypot(*(cluster - c).T).sum()  # noqa: E731
    for step in ([0.01, 0], [0, 0.01], [-0.01, 0], [0, -0.01]):
        assert total(centre) <= total(centre + np.array(step)) + 1e-12


def test_a_constant_shift_is_all_offset_and_no_spread(anatomy_script):
    rng = np.random.default_rng(0)
    truth = rng.uniform(100, 1800, (6, 19, 2))
    shift = np.zeros((19, 2))
    shift[9] = (13.0, 24.0)  # gonion 1.3 mm right, 2.4 mm down on every image, as the Test1 offset
    figures = anatomy_script.anatomy(truth + shift, truth, 0.1)
    go = figures["per_landmark"]["Go"]
    assert go["mre"] == pytest.approx(np.hypot(1.3, 2.4)) and go["mre_without_offset"] == pytest.approx(0, abs=1e-6)
    np.testing.assert_allclose(go["offset_xy"], [1.3, 2.4], atol=1e-6)
    assert figures["all"]["mre"] == pytest.approx(np.hypot(1.3, 2.4) / 19)
    assert figures["per_landmark"]["S"]["mre"] == 0


def _isbi_truth(root: Path, truth: np.ndarray) -> None:
    folder = root / "AnnotationsByMD" / "400_senior"
    folder.mkdir(parents=True)
    for n, points in enumerate(truth, start=151):
        lines = [f"{int(x)},{int(y)}" for x, y in points] + ["1", "2", "3", "4", "5", "6", "7", "8"]
        (folder / f"{n}.txt").write_text("\n".join(lines) + "\n")


def _predictions(path: Path, points: np.ndarray) -> Path:
    entries = [{"image": f"C:\\ceph data\\Test1Data\\{n}.bmp",
                "landmarks": {s: {"x": float(x), "y": float(y)} for s, (x, y) in zip(ISBI_SYMBOLS, p)}}
               for n, p in enumerate(points, start=151)]
    path.write_text(json.dumps({"predictions": entries}))
    return path


def test_two_runs_erring_in_opposite_directions_average_to_the_truth(anatomy_script, tmp_path):
    """The ensemble column: two runs off by +-1 mm on each image, in opposite directions, average to the truth."""
    rng = np.random.default_rng(1)
    truth = np.round(rng.uniform(100, 1800, (4, 19, 2)))
    _isbi_truth(tmp_path / "isbi data", truth)
    jitter = rng.choice([-10.0, 10.0], size=truth.shape)
    a = _predictions(tmp_path / "run a.json", truth + jitter)
    b = _predictions(tmp_path / "run b.json", truth - jitter)
    out = tmp_path / "anatomy.json"
    anatomy_script.main([str(a), str(b), "--data", str(tmp_path / "isbi data"), "--out", str(out)])
    figures = json.loads(out.read_text())
    assert figures["images"] == 4
    for run in (str(a), str(b)):
        assert figures["results"][run]["all"]["mre"] == pytest.approx(np.sqrt(2.0))
    assert figures["results"]["ensemble (mean of the runs)"]["all"]["mre"] == pytest.approx(0, abs=1e-9)
