"""``zoo export CKPT --format onnx|torchscript|onnx-int8``: a verified export with its metadata inside."""
from __future__ import annotations

from pathlib import Path

import typer


def run_export(checkpoint, fmt: str = "onnx", out=None, calib_images=None, tolerance_px: float | None = None,
               tolerance_mre: float | None = None, check_images: int = 8, calib_count: int | None = None,
               opset: int | None = None, check: bool = True, max_fp32_nodes: int | None = None, log=None):
    """Build the format's exporter from the registry and run it; returns its ``ExportResult``. ``log`` gets
    the int8 exporter's progress when its self-check fails and it searches for nodes to keep in fp32."""
    from zoo.exporters import FORMATS, ExportError
    from zoo.registry import EXPORTERS

    if fmt not in FORMATS:
        raise ExportError(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    cfg = dict(type=FORMATS[fmt], tolerance_px=tolerance_px, tolerance_mre=tolerance_mre, check_images=check_images)
    if opset is not None and fmt != "torchscript":
        cfg["opset"] = opset
    if fmt == "onnx-int8":
        if calib_count is not None:
            cfg["calib_images"] = calib_count
        if max_fp32_nodes is not None:
            cfg["max_fp32_nodes"] = max_fp32_nodes
        cfg["log"] = log
    elif max_fp32_nodes is not None:
        raise ExportError(f"--max-fp32-nodes applies to --format onnx-int8 only, not {fmt}")
    exporter = EXPORTERS.build(cfg)
    images = None
    if calib_images:
        from zoo.commands.predict import expand_images

        images = expand_images(calib_images)
    return exporter.export(checkpoint, out, images=images, check=check)


def register(app: typer.Typer) -> None:
    @app.command("export")
    def export_command(
        checkpoint: Path = typer.Argument(..., help="A checkpoint saved by `zoo train` (it carries its metadata)."),
        fmt: str = typer.Option("onnx", "--format", "-f", help="onnx, torchscript or onnx-int8."),
        out: Path = typer.Option(None, "--out", "-o", help="Output file (default: beside the checkpoint)."),
        calib_images: list[str] = typer.Option(
            None, "--calib-images", help="Images (files, folders or patterns; repeatable) for int8 calibration, "
                                         "and for the self-check when the config's dataset is absent."),
        tolerance_px: float = typer.Option(
            None, "--tolerance-px", help="Largest allowed coordinate difference vs the eager model, in model-input "
                                         "px (default 0.1; int8 2.0)."),
        tolerance_mre: float = typer.Option(
            None, "--tolerance-mre", help="Largest allowed MRE increase, mm (px without spacing) (default 0.02; "
                                          "int8 0.1)."),
        check_images: int = typer.Option(8, "--check-images", help="How many real images the self-check uses."),
        calib_count: int = typer.Option(None, "--calib-count", help="How many images calibrate int8 (default 32)."),
        opset: int = typer.Option(None, "--opset", help="ONNX opset (default 17)."),
        max_fp32_nodes: int = typer.Option(
            None, "--max-fp32-nodes", help="int8: when the self-check fails, keep up to this many of the most "
                                           "sensitive quantized nodes in fp32 until it passes (default 16; 0: off)."),
        no_check: bool = typer.Option(False, "--no-check", help="Skip the self-check (not recommended)."),
    ):
        """Export a checkpoint to ONNX, TorchScript or int8 ONNX, then check it against the eager model."""
        result = run_export(checkpoint, fmt, out, calib_images, tolerance_px, tolerance_mre, check_images,
                            calib_count, opset, check=not no_check, max_fp32_nodes=max_fp32_nodes,
                            log=lambda message: typer.echo(message, err=True))
        if result.report is not None:
            typer.echo(result.report.summary())
        typer.echo(f"wrote {result.path}" + (f" (check report {result.report_path})" if result.report_path else ""))
        if fmt == "torchscript":
            typer.echo("note: a TorchScript file is a program: whoever opens it runs its code, so the zoo opens one "
                       "only with --trust. ONNX is the safe format to share (`--format onnx`).", err=True)
