"""``zoo leaderboard``: the same parser and code as ``tools/leaderboard.py``."""
from __future__ import annotations

import typer

_PASSTHROUGH = {"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []}


def register(app: typer.Typer) -> None:
    @app.command("leaderboard", context_settings=_PASSTHROUGH, add_help_option=False)
    def leaderboard(ctx: typer.Context):
        """Train models under one budget, test them on one split, cost them on this CPU; tables and a plot."""
        from zoo.leaderboard.cli import run_cli

        raise typer.Exit(run_cli(list(ctx.args)))
