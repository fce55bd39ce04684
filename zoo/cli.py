"""The ``zoo`` command. A thin shell: every command calls the library and reports its errors as one line.

Commands live in ``zoo/commands/<name>.py``, each with ``register(app)``; heavy imports stay inside the
command functions so ``zoo --help`` and ``zoo list`` start fast.
"""
from __future__ import annotations

import importlib
import sys
import warnings

import typer

COMMAND_MODULES = (
    "zoo.commands.data",
    "zoo.commands.listing",
    "zoo.commands.models",
    "zoo.commands.train",
    "zoo.commands.ensemble",
    "zoo.commands.checkpoint",
    "zoo.commands.analyze",
    "zoo.commands.export",
    "zoo.commands.predict",
    "zoo.commands.benchmark",
    "zoo.commands.serve",
    "zoo.commands.leaderboard",
)

app = typer.Typer(
    name="zoo",
    help="ceph-zoo: train, evaluate, export and serve cephalometric landmark detectors.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

_state = {"debug": False}


@app.callback()
def _root(debug: bool = typer.Option(False, "--debug", is_flag=True, metavar="",
                                    help="Show full tracebacks on errors.")):
    _state["debug"] = debug


def _short_warning(message, category, filename, lineno, file=None, line=None):
    return f"warning: {message}\n"


def _blame(exc: BaseException) -> str:
    """`` (in <component> of zoo plugin 'x')`` when a plugin's code raised ``exc``; the zoo's own errors need none."""
    from zoo.registry._errors import ZooError
    from zoo.registry.plugins import blame

    who = None if isinstance(exc, ZooError) else blame(exc)
    return f" (in {who})" if who else ""


def _register_commands() -> None:
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(app)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app, turning the zoo's own errors into one line and exit code 2."""
    from zoo.registry._errors import ZooError

    warnings.formatwarning = _short_warning
    _register_commands()
    debug = "--debug" in (argv if argv is not None else sys.argv)
    try:
        code = app(args=argv, standalone_mode=False)
        if isinstance(code, int) and code:  # typer.Exit(n) is returned, not raised, outside standalone mode
            raise SystemExit(code)
    except SystemExit:
        raise
    except (ZooError, FileNotFoundError, ValueError, KeyError) as exc:
        if debug:
            raise
        message = exc.message if hasattr(exc, "message") else str(exc)
        typer.echo(f"error: {message}{_blame(exc)}", err=True)
        raise SystemExit(2) from None
    except Exception as exc:  # click's own usage errors carry their exit code
        import click

        if isinstance(exc, click.exceptions.ClickException):
            exc.show()
            raise SystemExit(exc.exit_code) from None
        if isinstance(exc, click.exceptions.Abort):
            raise SystemExit(1) from None
        if debug:
            raise
        typer.echo(f"error: {type(exc).__name__}: {exc}{_blame(exc)} (run with --debug for the traceback)", err=True)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
