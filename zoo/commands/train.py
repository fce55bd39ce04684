"""``zoo train`` and ``zoo test``: the same parser and code as ``tools/train.py`` and ``tools/test.py``."""
from __future__ import annotations

import typer

_PASSTHROUGH = {"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []}


def register(app: typer.Typer) -> None:
    @app.command("train", context_settings=_PASSTHROUGH, add_help_option=False)
    def train(ctx: typer.Context):
        """Train from a config (see `zoo train --help`): resume, AMP, DDP, --cfg-options."""
        from zoo.engine.entry import run_cli

        raise typer.Exit(run_cli("train", list(ctx.args)))

    @app.command("test", context_settings=_PASSTHROUGH, add_help_option=False)
    def test(ctx: typer.Context):
        """Evaluate a checkpoint: MRE px/mm, SDR at 2/2.5/3/4 mm, per landmark (see `zoo test --help`)."""
        from zoo.engine.entry import run_cli

        raise typer.Exit(run_cli("test", list(ctx.args)))
