"""``zoo data synth``, ``check`` and ``labelstudio-config``: make a synthetic set, check a dataset (and what its
label names mean) without training, and write the Label Studio interface a landmark set is labelled in."""
from __future__ import annotations

from pathlib import Path

import typer

data_app = typer.Typer(help="Make synthetic cephalograms, check datasets, set up Label Studio.",
                       no_args_is_help=True)


def _size(value: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in value.lower().replace("x", ",").split(","))
    except ValueError:
        raise typer.BadParameter(f"size must be WxH, e.g. 512x640 (got {value!r})") from None
    if w < 64 or h < 64:
        raise typer.BadParameter("size must be at least 64x64")
    return w, h


@data_app.command("synth")
def synth(
    out: Path = typer.Argument(..., help="Output folder (created; must be empty unless --overwrite)."),
    n: int = typer.Option(200, "--n", min=1, help="Number of images (80% train, 10% valid, 10% test)."),
    seed: int = typer.Option(0, "--seed", help="Random seed; the same seed gives the same images."),
    size: str = typer.Option("512x640", "--size", help="Image size WxH in pixels."),
    image_format: str = typer.Option("jpg", "--format", help="jpg or png."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing folder."),
):
    """Generate synthetic lateral cephalograms with 31 landmarks (Aariz JSON + Label Studio p1/p2)."""
    import time

    from zoo.data.synthetic import RULER_MM, generate

    start = time.perf_counter()
    folder = generate(out, n=n, seed=seed, size=_size(size), image_format=image_format, overwrite=overwrite)
    typer.echo(f"wrote {n} synthetic cephalograms ({size}, seed {seed}, ruler p1-p2 = {RULER_MM:g} mm) to {folder} "
               f"in {time.perf_counter() - start:.1f} s")
    import shlex

    q = shlex.quote(str(folder))
    typer.echo(f"use it with a synthetic31-based config: --cfg-options train_dataloader.dataset.data_root={q} "
               f"val_dataloader.dataset.data_root={q} test_dataloader.dataset.data_root={q}")


@data_app.command("check")
def check(
    target: str = typer.Argument(..., help="A config (.py), a dataset folder, a CSV or a Label Studio export."),
    landmark_set: str = typer.Option(
        None, "--landmark-set",
        help="Read as this set: a built-in name or your own JSON file (default: the set the labels fit best)."),
    label_map: list[str] = typer.Option(
        None, "--label-map", help="LABEL=SYMBOL for a label of your own (repeatable; LABEL= leaves it out), "
                                  "or a JSON file of such pairs."),
    split: str = typer.Option(None, "--split", help="Only this split (folders only)."),
    annotator: str = typer.Option("senior", "--annotator", help="senior, junior or mean (folders only)."),
    decode: bool = typer.Option(True, "--decode/--no-decode", help="Decode every image (finds corrupt files)."),
    as_json: bool = typer.Option(False, "--json", help="Print the reports as JSON (unknown_labels included)."),
):
    """Read a dataset and report counts, image sizes, spacing, missing landmarks, label names and every problem."""
    import json

    from zoo.data.check import check_datasets, datasets_for_config, datasets_for_path
    from zoo.data.labels import parse_label_map
    from zoo.registry import ZooError

    mapping = parse_label_map(label_map)
    if target.endswith(".py"):
        if landmark_set:
            raise ZooError("--landmark-set applies to folders and files; a config names its own landmark_set")
        configs = datasets_for_config(target, label_map=mapping)
    else:
        configs = datasets_for_path(target, landmark_set=landmark_set, split=split, annotator=annotator,
                                    label_map=mapping)
    if not configs:
        raise typer.BadParameter(f"{target}: no datasets found")
    reports = check_datasets(configs, infer_set=not landmark_set and not target.endswith(".py"), decode=decode,
                             label_map=mapping)
    problems = sum(len(r.problems) for r in reports)
    if as_json:
        typer.echo(json.dumps({"datasets": [r.to_dict() for r in reports], "problems": problems}, indent=2))
    else:
        for report in reports:
            typer.echo(report.format())
    if problems:
        typer.echo(f"{problems} problem(s) found", err=True)
        raise typer.Exit(1)
    if not as_json:
        typer.echo("no problems found")


@data_app.command("labelstudio-config")
def labelstudio_config(
    landmark_set: str = typer.Option(..., "--landmark-set", help="A built-in set name or your own JSON file."),
    out: Path = typer.Option(None, "--out", "-o", help="Write the XML here (default: print it)."),
    image_name: str = typer.Option(
        "image", "--image-name", help="What the project calls its image: the Image's name, the keypoints' toName "
                                      "and the task field ($NAME) it reads; e.g. img."),
):
    """The Label Studio labeling interface for a landmark set: one keypoint label per symbol."""
    from zoo.data.labelstudio import LabelStudioNames, labeling_config
    from zoo.registry import ZooError

    if not image_name.replace("_", "").replace("-", "").isalnum():
        raise ZooError(f"--image-name {image_name!r}: a name of letters, digits, - and _ (Label Studio's $field)")
    xml = labeling_config(landmark_set, LabelStudioNames(image=image_name, data_key=image_name))
    if out is None:
        typer.echo(xml, nl=False)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(xml, encoding="utf-8")
    typer.echo(f"wrote the labeling interface for {landmark_set} to {out}", err=True)


def register(app: typer.Typer) -> None:
    app.add_typer(data_app, name="data")
