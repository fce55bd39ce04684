"""``zoo data synth`` and ``zoo data check``: make a synthetic set; check a dataset without training."""
from __future__ import annotations

from pathlib import Path

import typer

data_app = typer.Typer(help="Make synthetic cephalograms and check datasets.", no_args_is_help=True)


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
    landmark_set: str = typer.Option(None, "--landmark-set", help="Read as this set (folders/files only)."),
    split: str = typer.Option(None, "--split", help="Only this split (folders only)."),
    annotator: str = typer.Option("senior", "--annotator", help="senior, junior or mean (folders only)."),
    decode: bool = typer.Option(True, "--decode/--no-decode", help="Decode every image (finds corrupt files)."),
):
    """Read a dataset and report counts, image sizes, spacing, missing landmarks and every problem."""
    from zoo.data.check import build, check_dataset, datasets_for_config, datasets_for_path

    if target.endswith(".py"):
        configs = datasets_for_config(target)
    else:
        configs = datasets_for_path(target, landmark_set=landmark_set, split=split, annotator=annotator)
    if not configs:
        raise typer.BadParameter(f"{target}: no datasets found")
    problems = 0
    for label, cfg in configs:
        report = check_dataset(build(cfg), label=label, decode=decode)
        problems += len(report.problems)
        typer.echo(report.format())
    if problems:
        typer.echo(f"{problems} problem(s) found", err=True)
        raise typer.Exit(1)
    typer.echo("no problems found")


def register(app: typer.Typer) -> None:
    app.add_typer(data_app, name="data")
