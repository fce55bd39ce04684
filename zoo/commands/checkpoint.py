"""``zoo checkpoint upgrade``: bring a checkpoint from an older zoo to the format every command opens."""
from __future__ import annotations

from pathlib import Path

import typer

checkpoint_app = typer.Typer(help="Convert checkpoints written by older versions of the zoo.",
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


def register(app: typer.Typer) -> None:
    app.add_typer(checkpoint_app, name="checkpoint")
