"""``zoo checkpoint upgrade`` brings a checkpoint from an older zoo to the format every command opens;
``zoo checkpoint publish`` turns a training checkpoint into the plain weights file the model zoo ships."""
from __future__ import annotations

from pathlib import Path

import typer

checkpoint_app = typer.Typer(help="Convert checkpoints: upgrade older ones, publish weights files.",
                             no_args_is_help=True)


@checkpoint_app.command("upgrade")
def upgrade(
    checkpoint: Path = typer.Argument(..., help="A checkpoint from an older zoo, from a source you trust."),
    out: Path = typer.Option(None, "--out", "-o", help="Where to write it (default: NAME.upgraded.pth beside "
                                                       "it; the checkpoint itself converts it in place)."),
):
    """Store an old checkpoint's config as plain data. Old checkpoints keep it as Python text, which the zoo
    only reads by running it, so no other command opens them: run this only on files you trust."""
    from zoo.engine.checkpoint_upgrade import upgrade_checkpoint

    written = upgrade_checkpoint(checkpoint, out)
    typer.echo(f"wrote {written}; its config is plain data now (`zoo test {written}` to check it)")


@checkpoint_app.command("publish")
def publish(
    checkpoint: Path = typer.Argument(..., help="A training checkpoint (.pth) written by `zoo train`."),
    out: Path = typer.Option(..., "--out", "-o", help="The weights file to write (.safetensors)."),
    fp32: bool = typer.Option(False, "--fp32", help="Keep float32 weights (default: fp16 storage, half the size)."),
):
    """Write a checkpoint's weights and metadata as one safetensors file: what a model zoo entry ships or a
    download serves (no optimizer state, nothing that runs when read). Prints its size and sha256."""
    from zoo.inference.backends import TorchBackend
    from zoo.model_zoo.cache import sha256_of
    from zoo.modelfile import safe_load
    from zoo.modelfile.weights import SUFFIX, read_weights, write_weights
    from zoo.registry import ZooError, load_plugins

    if out.suffix.lower() != SUFFIX:
        raise ZooError(f"--out must end in {SUFFIX}, got {out.name}")
    load_plugins()
    written = write_weights(safe_load(checkpoint), out, half=not fp32)
    TorchBackend.from_checkpoint(written, checkpoint=read_weights(written))  # rebuilt as every later load will be
    typer.echo(f"wrote {written}  size_bytes: {written.stat().st_size}  sha256: {sha256_of(written)}")


@checkpoint_app.command("calibrate")
def calibrate(
    model: str = typer.Argument(..., help="A checkpoint (.pth), weights file (.safetensors) or model name."),
    out: Path = typer.Option(..., "--out", "-o", help="Where to write the calibrated copy (same kind as MODEL)."),
    data_root: Path = typer.Option(None, "--data-root", help="Where the config's training and validation data "
                                                              "live, when not where the config says."),
    threads: int = typer.Option(None, "--threads", help="CPU threads for the validation predictions."),
    fallback: str = typer.Option(
        None, "--fallback", help="The model MODEL was fine-tuned from (e.g. isbi19): where MODEL's own images are "
                                 "too few, its shape model and thresholds are borrowed; what neither gives is left "
                                 "out and named."),
):
    """Teach a model to judge its own answers: a shape model of its training annotations, verdict thresholds and
    per-landmark uncertainty from its validation images (both named by its stored config). The copy's predictions
    carry `quality` (ok / suspect / reject, with reasons) and `uncertainty_px`/`_mm` per landmark."""
    from zoo.calibration import write_calibrated
    from zoo.model_zoo import resolve_model
    from zoo.registry import load_plugins

    load_plugins()
    progress = lambda i, n: typer.echo(f"  validation image {i}/{n}", err=True)  # noqa: E731
    written, quality = write_calibrated(resolve_model(model), out, data_root, threads, progress, fallback=fallback)
    th = ", ".join(f"{k} {v.suspect:.3g}/{v.reject:.3g}" for k, v in quality.thresholds.items()) or "none"
    on = {k: v for k, v in quality.calibrated_on.items() if k not in ("sources", "notes")}
    lines = [f"wrote {written}", f"  calibrated on: {on}", f"  thresholds (suspect/reject): {th}"]
    lines += [f"  {part}: {source}" for part, source in (quality.calibrated_on.get("sources") or {}).items()]
    lines += [f"  note: {note}" for note in quality.calibrated_on.get("notes") or []]
    typer.echo("\n".join(lines))


def register(app: typer.Typer) -> None:
    app.add_typer(checkpoint_app, name="checkpoint")
