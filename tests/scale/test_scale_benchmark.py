"""``benchmarks/scale.py``'s arithmetic: a landmark found in a resized copy maps back to the film's pixel it came from,
and each row of its table is the same images (one read in some settings only is left out of all)."""
from __future__ import annotations

import numpy as np
import pytest


@pytest.mark.parametrize("scale", [0.5, 0.75, 1.25, 1.5])
def test_a_mark_found_in_a_resized_copy_maps_back_to_the_film(benchmark_script, scale):
    bench = benchmark_script("scale")
    film = np.zeros((240, 194), np.uint8)
    ys, xs = np.mgrid[0:240, 0:194]
    film[:] = np.clip(250 * np.exp(-((xs - 101.3) ** 2 + (ys - 57.8) ** 2) / (2 * 4.0 ** 2)), 0, 255)
    copy, sx, sy = bench.resized(film, scale)
    assert copy.shape == (round(240 * scale), round(194 * scale))
    weights = copy.astype(np.float64)
    cy, cx = np.mgrid[0:copy.shape[0], 0:copy.shape[1]]
    found = [(weights * cx).sum() / weights.sum(), (weights * cy).sum() / weights.sum()]
    assert np.allclose(bench.to_film(np.array([found]), sx, sy)[0], [101.3, 57.8], atol=0.15)


def test_every_row_is_the_same_images_and_native_is_the_given_full_resolution_read(benchmark_script):
    bench = benchmark_script("scale")

    def rec(image, scale, mode, error, status="ok", estimate=None):
        return {"image": image, "scale": scale, "mode": mode, "mm_per_pixel": 0.1 / scale, "errors_mm": [error] * 19,
                "status": status, "factor": 1.0, "estimate_mm_per_pixel": estimate, "seconds": 1.0}

    records = [rec(i, s, m, e, st, est) for i, e in (("a.jpg", 1.0), ("b.jpg", 2.0))
               for s, m, st, est in ((1.0, "given", "ok", None), (1.0, "unknown", "ok", 0.105),
                                     (0.5, "given", "ok", None), (0.5, "unknown", "suspect", 0.19))]
    records.append(rec("c.jpg", 1.0, "given", 9.0))  # read in one setting only: left out of every row
    rows = bench.summarise(records, [1.0, 0.5], ["given", "unknown"])
    assert [r["images"] for r in rows] == [2] * 4 and rows[0]["mre_mm"] == pytest.approx(1.5)
    assert all(r["native_mre_mm"] == pytest.approx(1.5) and r["mre_difference_mm"] == pytest.approx(0.0) for r in rows)
    unknown = [r for r in rows if r["mode"] == "unknown"]
    assert unknown[0]["estimate_error_median_pct"] == pytest.approx(5.0)
    assert unknown[1]["suspect"] == 2 and unknown[1]["estimate_error_max_pct"] == pytest.approx(5.0)
    text = bench.table(rows)
    assert "x0.5 (0.2 mm/px)" in text and "0/2/0" in text
