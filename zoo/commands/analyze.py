"""``zoo analyze``: cephalometric measurements from a predictions file, or from images through a model."""
from __future__ import annotations

import json
import math
from pathlib import Path

import typer

from zoo.quality import REJECT, SUSPECT

FORMATS = ("text", "markdown", "json")


def _entries_from_predictions(files: list[Path]):
    from zoo.clinical import read_predictions

    for f in files:
        for i, entry in enumerate(read_predictions(f)):
            yield entry, f"predictions file {f}, entry {i}"


def _entries_from_model(model: str, images: list[Path], ruler_mm: float | None = None,
                        spacing_mm: float | None = None):
    from zoo.inference.predictor import Predictor  # heavy (torch); only when a model is asked for

    predictor = Predictor.from_path(model)
    for img in images:
        if not img.is_file():
            from zoo.clinical import ClinicalError

            raise ClinicalError(f"image {str(img)!r} not found")
        kwargs = {k: v for k, v in (("ruler_mm", ruler_mm), ("spacing_mm", spacing_mm)) if v is not None}
        yield predictor.predict(img, **kwargs), f"image {img}"


def _header(entry: dict, analysis) -> str:
    scale = (f"{analysis.mm_per_pixel:.4g} mm/px ({analysis.mm_per_pixel_source})"
             if analysis.mm_per_pixel else "pixel size unknown")
    quality = entry.get("quality") if isinstance(entry.get("quality"), dict) else {}
    verdict = {REJECT: "  UNAVAILABLE: rejected by the quality gate",
               SUSPECT: "  SUSPECT (quality gate)"}.get(quality.get("status"), "")
    return (f"{entry.get('image', '?')}  [{entry.get('landmark_set', '?')}; {scale}; "
            f"norms: {analysis.norms}; profile faces {analysis.facing}]{verdict}")


def run_analyze(inputs: list[Path], model: str | None = None, norms: str | None = None, fmt: str = "text",
                mm_per_pixel: float | None = None, ruler_mm: float | None = None) -> str:
    """Everything ``zoo analyze`` prints, as one string (the command is a thin shell over this).

    ``mm_per_pixel`` wins over every entry's own pixel size and over a ruler; where a ruler disagrees, the
    analysis notes say so (printed under each table).
    """
    from zoo.clinical import ClinicalError, analyze_prediction, load_norms

    if fmt not in FORMATS:
        raise ClinicalError(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if not inputs:
        raise ClinicalError("give a predictions file, or --model MODEL and one or more images")
    table = load_norms(norms)
    for value, option in ((mm_per_pixel, "--mm-per-pixel"), (ruler_mm, "--ruler-mm")):
        if value is not None and not (math.isfinite(value) and value > 0):
            raise ClinicalError(f"{option} must be a positive number of mm, got {value!r}")
    source = (_entries_from_model(model, inputs, ruler_mm, mm_per_pixel) if model
              else _entries_from_predictions(inputs))
    blocks, records = [], []
    for entry, where in source:
        if mm_per_pixel is not None:
            entry = {**entry, "mm_per_pixel": mm_per_pixel, "mm_per_pixel_source": "command line"}
        analysis = analyze_prediction(entry, table, ruler_mm=ruler_mm, where=where)
        records.append({"image": entry.get("image"), "landmark_set": entry.get("landmark_set"),
                        "analysis": analysis.to_dict()})
        if fmt == "markdown":
            blocks.append(f"### {_header(entry, analysis)}\n\n{analysis.to_markdown()}")
        elif fmt == "text":
            blocks.append(f"{_header(entry, analysis)}\n{analysis.to_text()}")
    if fmt == "json":
        return json.dumps({"norms": table.name, "analyses": records}, indent=2)
    return "\n\n".join(blocks)


def register(app: typer.Typer) -> None:
    @app.command("analyze")
    def analyze_command(
        inputs: list[Path] = typer.Argument(
            ..., help="A predictions JSON file (zoo predict --out), or images with --model."),
        model: str = typer.Option(
            None, "--model", "-m", help="Model to run on the images first (checkpoint, export or name)."),
        norms: str = typer.Option(
            None, "--norms", help="Built-in norms name (default 'classic') or a JSON/YAML norms file."),
        fmt: str = typer.Option("text", "--format", "-f", help="text, markdown or json."),
        out: Path = typer.Option(None, "--out", "-o", help="Write here instead of printing."),
        mm_per_pixel: float = typer.Option(None, "--mm-per-pixel", help="Override the pixel size of every image."),
        ruler_mm: float = typer.Option(
            None, "--ruler-mm", help="Distance between ruler marks p1 and p2 in mm, when the pixel size is unknown."),
    ):
        """Cephalometric analysis (Steiner, Downs, Tweed, McNamara, ISBI 2015 classes...) of predicted landmarks."""
        text = run_analyze(list(inputs), model, norms, fmt, mm_per_pixel, ruler_mm)
        if out:
            Path(out).write_text(text + "\n", encoding="utf-8")
            typer.echo(f"wrote {out}")
        else:
            typer.echo(text)
