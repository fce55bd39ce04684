"""``zoo models`` lists the named, trained models; ``zoo download NAME`` puts one into the cache, verified."""
from __future__ import annotations

import json

import typer


def _where(entry) -> str:
    from zoo.model_zoo.cache import cached_path

    if entry.shipped:
        return "shipped"
    return "downloaded" if cached_path(entry).is_file() else "not downloaded"


def model_rows(entries) -> list[tuple[str, ...]]:
    rows = []
    for e in entries:
        test = next(iter(e.results.values()), {}) if e.results else {}
        mre = test.get("MRE_mm")
        sdr = test.get("SDR_2mm")
        rows.append((e.name, f"{e.landmark_set} ({e.num_landmarks})", "" if mre is None else f"{mre:.2f}",
                     "" if sdr is None else f"{sdr:.1f}", f"{e.size_bytes / 2**20:.1f}", _where(e)))
    return rows


def register(app: typer.Typer) -> None:
    @app.command("models")
    def models_command(
        as_json: bool = typer.Option(False, "--json", help="Print the full index entries as JSON."),
    ):
        """The named models (`zoo predict NAME IMAGE` runs one): landmarks, test MRE/SDR, size, whether cached."""
        from dataclasses import asdict

        from zoo.commands.listing import _table
        from zoo.model_zoo import model_entries

        entries = model_entries()
        if as_json:
            typer.echo(json.dumps([{**asdict(e), "where": _where(e)} for e in entries], indent=2))
            return
        if not entries:
            typer.echo("no named models in the index")
            return
        typer.echo(_table(model_rows(entries), ("name", "landmarks", "MRE mm", "SDR 2mm %", "MB", "where")))
        typer.echo("\n(MRE/SDR on each model's test set; `zoo models --json` has the details and latencies)")

    @app.command("download")
    def download_command(
        name: str = typer.Argument(..., help="A model name from `zoo models`."),
        source: str = typer.Option(None, "--from", help="A URL (http/https) or local file to take the weights "
                                                        "from instead of the index's URL (a mirror, an offline copy)."),
        force: bool = typer.Option(False, "--force", help="Fetch again even when a verified copy is cached."),
        deadline: float = typer.Option(None, "--deadline", metavar="SECONDS",
                                       help="Give up when the whole download takes longer (default "
                                            "$ZOO_DOWNLOAD_DEADLINE, else 600; 0: none). Nothing is kept."),
    ):
        """Fetch a named model into the cache ($ZOO_HOME, default the user cache folder), checking its sha256."""
        from zoo.model_zoo import fetch, get_entry

        entry = get_entry(name)
        path = fetch(entry, source=source, force=force, deadline_s=deadline)
        typer.echo(f"{entry.name}: {path} (sha256 verified)")
