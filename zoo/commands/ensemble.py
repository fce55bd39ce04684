"""``zoo ensemble CKPT CKPT... --out FILE``: one checkpoint that averages several trained detectors."""
from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command("ensemble")
    def ensemble_command(
        checkpoints: list[Path] = typer.Argument(..., help="Two or more checkpoints saved by `zoo train`, of one "
                                                           "landmark set and one preprocessing."),
        out: Path = typer.Option(..., "--out", "-o", help="The ensemble checkpoint to write."),
    ):
        """Average several detectors' landmarks: writes a checkpoint that `zoo test`, `zoo predict` and
        `zoo serve` take like any other (export takes its members one by one)."""
        from zoo.engine.ensemble import assemble_ensemble

        path = assemble_ensemble(checkpoints, out)
        typer.echo(f"wrote {path} ({len(checkpoints)} members)")
