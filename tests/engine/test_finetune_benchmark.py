"""``benchmarks/finetune_own_data.py`` without its training runs: the 18 ISBI images become a Label Studio export the
one command reads back to the senior coordinates, a recorded run is skipped (resumable), and the CSV becomes the
metafile table docs/model_zoo.md is generated from, replacing its earlier version rather than adding a second."""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import yaml


def write_image(path, hw):
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), np.full(hw, 40, np.uint8))


@pytest.fixture
def fake_isbi(tmp_path):
    """TrainingData 131-148 and one Test1 image, small, with 19 senior points each."""
    root = tmp_path / "isbi copy"
    rng = np.random.default_rng(0)
    for i in [*range(131, 149), 151]:
        split = "TrainingData" if i < 151 else "Test1Data"
        write_image(root / "RawImage" / split / f"{i:03d}.jpg", hw=(60, 50))
        points = np.column_stack([rng.uniform(1, 48, 19), rng.uniform(1, 58, 19)])
        folder = root / "AnnotationsByMD" / "400_senior"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{i:03d}.txt").write_text("\n".join(f"{x:.0f},{y:.0f}" for x, y in points) + "\n")
    return root


@pytest.fixture
def bench(benchmark_script):
    return benchmark_script("finetune_own_data")


def test_the_export_reads_back_to_the_senior_points(fake_isbi, bench, tmp_path):
    from zoo.data.datasets.isbi2015 import read_isbi_annotation
    from zoo.engine.own_data import plan_run, read_own_data

    export = bench.write_export(fake_isbi, tmp_path / "export")
    data = read_own_data(export, images=fake_isbi / "RawImage" / "TrainingData", test=fake_isbi, spacing=0.1)
    [pool], [test] = data.role("pool"), data.role("test")
    assert data.landmark_set == "isbi2015" and len(pool.samples) == 18 and len(test.samples) == 1
    from zoo.registry import DATASETS

    ds = DATASETS.build({**pool.cfg, "pipeline": []})
    for k in range(len(ds)):
        info = ds.get_data_info(k)
        truth = read_isbi_annotation(fake_isbi / "AnnotationsByMD" / "400_senior" / f"{info['img_id']}.txt")
        assert np.abs(info["keypoints"] - truth).max() < 0.01 and info["spacing"] == 0.1
    plan = plan_run(data, start="isbi19", work_dir=tmp_path / "w")
    assert (len(plan.train_indices), len(plan.val_indices)) == (14, 4)


def _summary(start):
    report = {"MRE_mm": {"mean": 1.7, "median": 1.2}}
    return {"train_images": 14, "validation_images": 4, "test_images": 150, "start": start,
            "recipe": "/x/two-stage_hrnet-w18-small_b6-ft_own-256.py", "test": {
                "MRE_mm": 1.734, "SDR_2mm": 71.0, "SDR_2.5mm": 78.0, "SDR_3mm": 83.0, "SDR_4mm": 89.5},
            "test_report": report, "validation": {"MRE_mm": 1.5}, "quality_gate": ["shape: isbi19"],
            "_command": f"zoo train --data x.json --from {start or 'none'}", "_total_minutes": 17.0,
            "_train_minutes": 10.1}


def test_recorded_runs_are_skipped_and_the_table_goes_into_the_metafile(fake_isbi, bench, tmp_path, capsys,
                                                                        repo_root):
    from zoo.benchmarking.results_csv import append_rows
    from zoo.model_zoo.collect import table_markdown

    csv = tmp_path / "results" / "finetune_own_data.csv"
    machine = {"cpu": "Test CPU", "cores": 2, "torch": "2.x", "platform": "linux", "python": "3.11"}
    append_rows(csv, bench.COLUMNS, [bench.row_of("isbi19", _summary("isbi19"), "2030-01-01T10:00:00", machine),
                                     bench.row_of("scratch", _summary(None), "2030-01-01T11:00:00", machine)])
    # both recorded: nothing is trained (and nothing is written outside the test's own folder)
    bench.main(["--isbi", str(fake_isbi), "--csv", str(csv), "--work", str(tmp_path / "work")])
    out = capsys.readouterr().out
    assert "isbi19: already in" in out and "scratch: already in" in out and "start: scratch" in out

    metafile = tmp_path / "metafile.yml"
    metafile.write_text((repo_root / "configs" / "two_stage" / "metafile.yml").read_text(encoding="utf-8"))
    block = bench.table_yaml(csv)
    bench.write_metafile_table(block, metafile)
    bench.write_metafile_table(block, metafile)  # a second write replaces the first
    tables = yaml.safe_load(metafile.read_text())["tables"]
    ours = [t for t in tables if t["title"] == bench.TITLE]
    assert len(ours) == 1 and len(tables) >= 2 and tables[0]["title"] == "Fine-tuning on 18 images"
    assert [r["start"] for r in ours[0]["rows"]] == ["isbi19", "scratch"]
    assert ours[0]["rows"][0]["Test1 MRE mm"] == 1.734 and "14 train / 4 validate" in ours[0]["text"]
    markdown = table_markdown(ours[0])
    assert "| isbi19 | 14 + 4 |" in markdown and "python benchmarks/finetune_own_data.py" in markdown
    json.dumps(ours[0])  # plain data, as the model index keeps it
