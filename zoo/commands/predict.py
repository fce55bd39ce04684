"""``zoo predict MODEL IMAGES...``: landmarks by name, in original pixels, from a checkpoint or an exported file.

Everything goes through :class:`zoo.inference.Predictor`, so the preprocessing is the model's own. A bad
image is reported on its own line and the batch goes on; the exit code is 1 when any image failed. DICOM files
are read with their header's pixel size and UIDs (:mod:`zoo.data.dicom`). With ``--out results.jsonl`` every
result is written as it comes and ``--resume`` goes on after a crash (:mod:`zoo.inference.batch`);
``--report-dir`` writes a report per patient.
"""
from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

import typer

#: what ``--format`` writes: the predictions file, one CSV row per landmark, Label Studio pre-annotations, COCO
#: keypoints, or the batch file (one JSON line per image, written as each image is done)
FORMATS = ("json", "csv", "labelstudio", "coco", "jsonl")
CSV_FIELDS = ("image", "width", "height", "landmark_set", "landmark", "x", "y", "confidence", "low_confidence",
              "mm_per_pixel", "mm_per_pixel_source", "x_mm", "y_mm", "uncertainty_px", "uncertainty_mm", "quality")


def expand_images(items) -> list[Path]:
    """Files as given, folders as their images (sorted), and ``*`` patterns expanded (Windows shells don't)."""
    from zoo.data.imageio import find_images

    out: list[Path] = []
    for item in items:
        p = Path(item)
        if p.is_dir():
            out += find_images(p)
        elif any(c in str(item) for c in "*?[") and not p.exists():
            import glob

            out += [Path(m) for m in sorted(glob.glob(str(item)))] or [p]  # no match: reported as missing
        else:
            out.append(p)
    return out


def pixel_notes(raw, channels: int) -> list[str]:
    """What loading changes about an image, said once per file (the prediction still runs)."""
    import numpy as np

    notes = []
    if raw.dtype != np.uint8:
        notes.append(f"{raw.dtype} pixels ({'16-bit' if raw.dtype == np.uint16 else raw.dtype.name}), "
                     "rescaled to 8 bit by the image's own min..max")
    c = 1 if raw.ndim == 2 else raw.shape[2]
    if c in (1, 2) and channels == 3:
        notes.append("grayscale, replicated to the model's 3 channels")
    if c in (2, 4):
        notes.append("alpha channel ignored")
    if c >= 3 and channels == 1:
        notes.append("colour, converted to the model's 1 channel")
    return notes


def _draw(raw, entry: dict, out_dir: Path) -> Path:
    """The image with each landmark marked and named, as ``<out_dir>/<image stem>.png``."""
    from zoo.inference.drawing import draw_landmarks, write_png

    return write_png(draw_landmarks(raw, entry), Path(out_dir) / (Path(entry["image"]).stem + ".png"))


def run_predict(model, images, *, ruler_mm=None, spacing_mm=None, min_confidence=None, analyze=False,
                show_dir=None, max_pixels=None, threads=None, log=None, orientation="auto", trust=False,
                batch_out=None, resume=False, report_dir=None, scale="auto") -> dict:
    """Predict every image; returns ``{"model", "predictions", "failed"}`` (the predictions-file layout).

    ``log(kind, message)`` receives per-file notes, warnings and errors as they happen (kind 'note',
    'warning', 'error' or 'progress'). ``spacing_mm`` wins over a DICOM header's pixel size, which wins over a
    ruler the model predicts (see ``Predictor.predict``). ``batch_out``: a JSONL file each result is written to
    as it comes (:class:`zoo.inference.batch.BatchFile`); with ``resume`` the images it already holds are
    skipped, not predicted again. ``report_dir``: a report per patient group at the end. ``scale``: ``auto`` reads
    every image at the model's training pixel size (``zoo.inference.scale``), ``fixed`` as it lies.
    """
    import secrets
    import time

    from zoo.data.imageio import MAX_PIXELS, decode_image, read_bytes
    from zoo.data.spacing import check_spacing
    from zoo.inference import Predictor
    from zoo.inference.batch import BatchFile, content_hash, group_of
    from zoo.inference.predictor import DEFAULT_MIN_CONFIDENCE
    from zoo.registry import ZooError

    log = log or (lambda kind, message: None)
    if spacing_mm is not None:  # a physical pixel size, or refused before the model is even opened
        check_spacing(spacing_mm, "--spacing-mm")
    if ruler_mm is not None and not (math.isfinite(ruler_mm) and ruler_mm > 0):
        raise ZooError(f"--ruler-mm must be a positive number of mm, got {ruler_mm!r}")
    if resume and batch_out is None:
        raise ZooError("--resume goes on with a batch file: give it as --out results.jsonl")
    predictor = Predictor.from_path(model, threads=threads, orientation=orientation, trust=trust, scale=scale,
                                    min_confidence=DEFAULT_MIN_CONFIDENCE if min_confidence is None else min_confidence)
    batch = BatchFile.open(batch_out, predictor.describe(), resume) if batch_out is not None else None
    key = batch.key if batch is not None else secrets.token_bytes(32)  # names the patient groups, never kept
    paths = expand_images(images)
    predictions, failed, records, skipped = [], [], [], 0
    started = time.monotonic()
    try:
        for number, path in enumerate(paths, 1):
            header = digest = None
            label = str(path)
            try:
                data = read_bytes(path)
                digest = content_hash(data)
                earlier = batch.done(path, digest) if batch is not None else None
                if earlier is not None:  # predicted before from these same bytes: nothing recomputed
                    skipped += 1
                    predictions.append(earlier["entry"])
                    records.append(earlier)
                    log("progress", f"[{number}/{len(paths)}] {earlier['entry']['image']}: done before, skipped")
                    continue
                raw, header = decode_image(data, label, MAX_PIXELS if max_pixels is None else max_pixels)
                label = header.label(label) if header is not None else label
                for note in pixel_notes(raw, predictor.channels):
                    log("note", f"{label}: {note}")
                entry = predictor.predict(raw, name=str(path), ruler_mm=ruler_mm, spacing_mm=spacing_mm,
                                          header=header)
                for warning in entry["warnings"]:  # a ruler not used, a header disagreeing with the given spacing
                    log("warning", f"{label}: {warning}")
                if analyze:
                    from zoo.clinical import analyze_prediction

                    entry["analysis"] = analyze_prediction(entry, ruler_mm=ruler_mm, where=label).to_dict()
                if show_dir:
                    _draw(raw, entry, Path(show_dir))
                predictions.append(entry)
                records.append(batch.write(path, digest, header, entry=entry) if batch is not None
                               else {"group": group_of(key, header, digest), "entry": entry})
            except Exception as exc:  # one bad file must not stop the batch
                message = str(exc) if isinstance(exc, ZooError) else f"{label}: {type(exc).__name__}: {exc}"
                if label not in message:
                    message = f"{label}: {message}"
                failed.append({"image": label, "error": message})
                records.append(batch.write(path, digest, header, error=message) if batch is not None else
                               {"group": group_of(key, header, digest or content_hash(label.encode())),
                                "image": label, "error": message})
                log("error", message)
            done = number - skipped
            if done:
                left = (time.monotonic() - started) / done * (len(paths) - number)
                status = "failed" if failed and failed[-1]["image"] == label else "done"
                log("progress", f"[{number}/{len(paths)}] {label}: {status} (about {left:.0f} s left)")
    finally:
        if batch is not None:
            batch.close()
    result = {"model": predictor.describe(), "predictions": predictions, "failed": failed}
    if skipped:
        result["skipped"] = skipped
    if report_dir is not None:
        from zoo.inference.batch import write_reports

        written = write_reports(records, report_dir, analyze=analyze, ruler_mm=ruler_mm)
        result["reports"] = [str(p) for p in written if p.suffix == ".json"]
    return result


def write_csv(result: dict, out: Path) -> None:
    """One row per image and landmark (spreadsheet-friendly); mm columns empty when the scale is unknown."""
    with out.open("w", newline="", encoding="utf-8") as fh:
        _csv_rows(result, fh)


def _csv_rows(result: dict, fh) -> None:
    writer = csv.DictWriter(fh, fieldnames=CSV_FIELDS)
    writer.writeheader()
    for entry in result["predictions"]:
        for symbol, lm in entry["landmarks"].items():
            writer.writerow({
                "image": entry["image"], "width": entry["width"], "height": entry["height"],
                "landmark_set": entry["landmark_set"], "landmark": symbol, "x": f"{lm['x']:.3f}",
                "y": f"{lm['y']:.3f}", "confidence": f"{lm['confidence']:.4f}",
                "low_confidence": int(lm["low_confidence"]),
                "mm_per_pixel": "" if entry["mm_per_pixel"] is None else f"{entry['mm_per_pixel']:.6g}",
                "mm_per_pixel_source": entry["mm_per_pixel_source"] or "",
                "x_mm": f"{lm['x_mm']:.3f}" if "x_mm" in lm else "",
                "y_mm": f"{lm['y_mm']:.3f}" if "y_mm" in lm else "",
                "uncertainty_px": f"{lm['uncertainty_px']:.2f}" if "uncertainty_px" in lm else "",
                "uncertainty_mm": f"{lm['uncertainty_mm']:.3f}" if "uncertainty_mm" in lm else "",
                "quality": (entry.get("quality") or {}).get("status", "")})


def output_format(out: Path | None, fmt: str | None) -> str:
    """The format to write: as asked, else by ``--out``'s suffix; a suffix that contradicts it is refused."""
    from zoo.registry import ZooError

    suffix = out.suffix.lower() if out is not None else ""
    if fmt is None:
        return {".csv": "csv", ".jsonl": "jsonl"}.get(suffix, "json")
    fmt = fmt.lower()
    if fmt not in FORMATS:
        raise ZooError(f"--format {fmt!r}: use one of {', '.join(FORMATS)}")
    if (suffix == ".csv") != (fmt == "csv") and suffix in (".csv", ".json"):
        raise ZooError(f"--format {fmt} writes {'CSV' if fmt == 'csv' else 'JSON'}, but --out {out} ends in {suffix}")
    if (fmt == "jsonl") != (suffix == ".jsonl") and out is not None and suffix in (".jsonl", ".json", ".csv"):
        raise ZooError(f"--format {fmt} and --out {out} disagree: the batch file (one JSON line per image, written "
                       "as each is done) is --out NAME.jsonl")
    if fmt == "jsonl" and out is None:
        raise ZooError("--format jsonl writes the batch file as the run goes: give it as --out results.jsonl")
    return fmt


def render_result(result: dict, fmt: str, names=None) -> str:
    """The text of a result in one of :data:`FORMATS`; ``names``: a Label Studio project's
    (:class:`zoo.data.labelstudio.LabelStudioNames`) for its pre-annotations."""
    if fmt == "csv":
        buf = io.StringIO(newline="")
        _csv_rows(result, buf)
        return buf.getvalue()
    if fmt == "labelstudio":
        from zoo.data.labelstudio import predictions_to_tasks

        return json.dumps(predictions_to_tasks(result, names=names), indent=2)
    if fmt == "coco":
        from zoo.data.coco import predictions_to_coco

        return json.dumps(predictions_to_coco(result), indent=2)
    return json.dumps(result, indent=2)


def write_result(result: dict, out: Path, fmt: str | None = None, names=None) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    fmt = output_format(out, fmt)
    if fmt == "csv":
        write_csv(result, out)
    else:
        out.write_text(render_result(result, fmt, names), encoding="utf-8")


def quality_line(entry: dict) -> str:
    """The verdict on one image, in words: ``OK`` too, since silence read as "not checked" (or as the check not
    existing) to the first users."""
    quality = entry.get("quality") or {}
    status = quality.get("status", "unchecked")
    meaning = {"ok": "the model reads it as a cephalogram like those it was calibrated on",
               "suspect": "measure with care", "reject": "nothing is measured from it",
               "unchecked": "the model carries no quality calibration"}.get(status, "")
    return f"quality: {status.upper()}" + (f" ({meaning})" if meaning else "")


def format_entry(entry: dict) -> str:
    scale = (f"{entry['mm_per_pixel']:.4g} mm/px ({entry['mm_per_pixel_source']})" if entry["mm_per_pixel"]
             else "pixel size unknown")
    quality = entry.get("quality") or {}
    lines = [f"{entry['image']}  {entry['width']}x{entry['height']}  {scale}", f"  {quality_line(entry)}"]
    lines += [f"  ! {reason}" for reason in quality.get("reasons", []) if quality.get("status") != "unchecked"]
    for symbol, lm in entry["landmarks"].items():
        flag = "  LOW CONFIDENCE" if lm["low_confidence"] else ""
        mm = f"  ({lm['x_mm']:.2f}, {lm['y_mm']:.2f}) mm" if "x_mm" in lm else ""
        radius = (f"  +-{lm['uncertainty_mm']:.2f} mm" if "uncertainty_mm" in lm
                  else f"  +-{lm['uncertainty_px']:.1f} px" if "uncertainty_px" in lm else "")
        lines.append(f"  {symbol:<6} {lm['x']:9.2f} {lm['y']:9.2f}  conf {lm['confidence']:.3f}{mm}{radius}{flag}")
    if "ruler" in entry:
        r = entry["ruler"]
        why = f": {'; '.join(r['problems'])}" if r.get("problems") else " (the given spacing wins)"
        used = "used" if r.get("used", True) else "not used" + why
        lines.append(f"  ruler: {r['length_mm']:g} mm over {r['length_px']:.1f} px, {used}")
    if entry.get("calibration"):
        c = entry["calibration"]
        seen = [f"{what} {c[key]:.4g} mm/px" for what, key in (("given", "given"), ("header", "header"),
                                                              ("ruler", "ruler"), ("anatomy", "estimate"))
                if c.get(key) is not None]
        lines.append(f"  pixel size: {', '.join(seen)}; {c.get('used') or 'none'} used")
    read = entry.get("scale") or {}
    if read.get("factor") not in (None, 1.0):
        lines.append(f"  read at the model's {read['model_mm_per_pixel']:.4g} mm/px: the image's "
                     f"{read['image_mm_per_pixel']:.4g} mm/px ({read['source']}) resampled x{read['factor']:.4g}")
    if entry.get("dicom"):
        d = entry["dicom"]
        lines.append(f"  dicom: study {d.get('study_instance_uid')}, instance {d.get('sop_instance_uid')}")
    return "\n".join(lines)


def register(app: typer.Typer) -> None:
    @app.command("predict")
    def predict_command(
        model: Path = typer.Argument(..., help="A model name (`zoo models`), a checkpoint (.pth), a weights file "
                                               "(.safetensors) or an exported model (.onnx, .torchscript.pt)."),
        images: list[str] = typer.Argument(..., help="Image files (JPEG, PNG, BMP, TIFF, DICOM), folders of "
                                                     "images, or patterns like 'x/*.dcm'."),
        out: Path = typer.Option(None, "--out", "-o", help="Write predictions.json or predictions.csv."),
        fmt: str = typer.Option(None, "--format", help="json, csv, labelstudio (Label Studio pre-annotations), coco "
                                                       "(COCO keypoints) or jsonl (the batch file, written as it "
                                                       "goes); default: --out's suffix, or text without --out."),
        show_dir: Path = typer.Option(None, "--show-dir", help="Write each image with its landmarks drawn here."),
        ruler_mm: float = typer.Option(None, "--ruler-mm", help="Length between ruler marks p1 and p2 in mm."),
        spacing_mm: float = typer.Option(
            None, "--spacing-mm", help="Pixel size in mm; wins over a ruler the model finds (both shown)."),
        min_confidence: float = typer.Option(None, "--min-confidence",
                                             help="Flag landmarks below this confidence (default 0.25)."),
        analyze: bool = typer.Option(False, "--analyze", help="Add cephalometric measurements per image."),
        max_pixels: int = typer.Option(None, "--max-pixels", help="Refuse images above this many pixels."),
        threads: int = typer.Option(None, "--threads", help="CPU threads (default: all cores)."),
        orientation: str = typer.Option(
            "auto", "--orientation", help="auto: find mirrored or turned images and read them in the model's "
                                          "orientation (8 global-stage passes); fixed: trust the image as it lies."),
        scale: str = typer.Option(
            "auto", "--scale", help="auto: read each image at the pixel size the model was trained at (the given, "
                                    "header or ruler pixel size, else the anatomy's estimate); fixed: as it lies."),
        trust: bool = typer.Option(False, "--trust", help="Open a TorchScript model, which runs code of its own while "
                                   "it loads: only for a file from a source you trust (ONNX needs no trust)."),
        resume: bool = typer.Option(False, "--resume", help="Go on with the batch file --out NAME.jsonl: images "
                                    "already predicted (same path, same bytes) are skipped, failed ones tried again."),
        report_dir: Path = typer.Option(None, "--report-dir", help="Write a report per patient here (DICOM PatientID "
                                        "as a keyed hash, else the study, else the image alone)."),
        labelstudio_config: Path = typer.Option(
            None, "--labelstudio-config", help="With --format labelstudio: the project's labeling interface (its "
                                               "XML: Settings, Labeling Interface, Code), whose names the "
                                               "pre-annotations take (an image called img...); default: the one zoo "
                                               "data labelstudio-config writes."),
    ):
        """Predict landmarks (by name, with confidences) for images; bad files are reported, the rest go on.
        DICOM files are read with their header's pixel size; --out NAME.jsonl writes each result as it is done."""
        def log(kind, message):
            typer.echo(message if kind == "progress" else f"{kind}: {message}", err=True)

        chosen = output_format(out, fmt) if (out or fmt) else None  # a bad --format fails before any work
        names = None
        if labelstudio_config is not None:
            from zoo.data.labelstudio import LabelStudioNames
            from zoo.registry import ZooError

            if chosen != "labelstudio":
                raise ZooError("--labelstudio-config goes with --format labelstudio (the pre-annotations it names)")
            names = LabelStudioNames.from_config(labelstudio_config)
        result = run_predict(model, images, ruler_mm=ruler_mm, spacing_mm=spacing_mm, min_confidence=min_confidence,
                             analyze=analyze, show_dir=show_dir, max_pixels=max_pixels, threads=threads, log=log,
                             orientation=orientation, trust=trust, batch_out=out if chosen == "jsonl" else None,
                             resume=resume, report_dir=report_dir, scale=scale)
        if result.get("reports"):
            typer.echo(f"wrote {len(result['reports'])} patient report(s) to {report_dir}", err=True)
        if out or chosen:  # the file (or stdout) holds the data; the verdicts still reach the person running it
            for entry in result["predictions"]:
                reasons = "; ".join((entry.get("quality") or {}).get("reasons") or [])
                shown = quality_line(entry) + (f": {reasons}" if reasons and "unchecked" not in quality_line(entry)
                                               else "")
                typer.echo(f"{entry['image']}: {shown}", err=True)
        if chosen == "jsonl":
            typer.echo(f"{out}: {len(result['predictions'])} prediction(s), {result.get('skipped', 0)} of them done "
                       "before (skipped)", err=True)
        elif out:
            write_result(result, out, chosen, names)
            typer.echo(f"wrote {len(result['predictions'])} prediction(s) to {out}", err=True)
        elif chosen:
            typer.echo(render_result(result, chosen, names), nl=False)
        else:
            for entry in result["predictions"]:
                typer.echo(format_entry(entry))
                if analyze:
                    from zoo.clinical import analyze_prediction

                    typer.echo(analyze_prediction(entry, ruler_mm=ruler_mm, where=entry["image"]).to_text())
        if result["failed"]:
            typer.echo(f"{len(result['failed'])} of {len(result['failed']) + len(result['predictions'])} image(s) "
                       "failed (see above)", err=True)
            raise SystemExit(1)  # typer.Exit is swallowed by the non-standalone app in zoo.cli
