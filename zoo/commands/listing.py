"""``zoo list [KIND]`` and ``zoo plugins``: what is registered, and by whom."""
from __future__ import annotations

import typer


def _first_doc_line(obj) -> str:
    doc = (obj.__doc__ or "").strip()
    return doc.splitlines()[0] if doc else ""


def component_rows(kind: str | None = None) -> list[tuple[str, str, str, str]]:
    """(kind, name, plugin, summary) for every component the zoo or a plugin registered."""
    from zoo.registry import ALL, ORIGINS, load_plugins

    load_plugins()
    kinds = [kind] if kind else list(ALL)
    rows = []
    for k in kinds:
        if k not in ALL:
            from zoo.registry._errors import unknown_component

            raise unknown_component(k, "kinds of", list(ALL))
        for name in ALL[k].own_names():
            rows.append((k, name, ORIGINS.get((k, name), "core"), _first_doc_line(ALL[k].get(name))))
    return rows


def component_notes(rows) -> list[str]:
    """What a listed component says about using it beyond its summary (its ``_list_note()``), e.g. that
    ``TimmBackbone`` takes any timm model by name; read from the registered class, which imports nothing."""
    from zoo.registry import ALL

    notes = []
    for kind, name, _, _ in rows:
        note = getattr(ALL[kind].get(name), "_list_note", None)
        if callable(note):
            notes.append(f"{name}: {note()}")
    return notes


def _table(rows, headers) -> str:
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    lines = [fmt.format(*headers), fmt.format(*("-" * w for w in widths))]
    lines += [fmt.format(*map(str, r)) for r in rows]
    return "\n".join(line.rstrip() for line in lines)


def register(app: typer.Typer) -> None:
    @app.command("list")
    def list_components(kind: str = typer.Argument(None, help="backbones, necks, heads, ... (all when omitted)")):
        """List registered components: kind, name, the plugin that registered it, its summary."""
        rows = component_rows(kind)
        typer.echo(_table(rows, ("kind", "name", "plugin", "summary")))
        notes = component_notes(rows)
        if notes:
            typer.echo("\n" + "\n".join(notes))

    @app.command("plugins")
    def list_plugins():
        """List plugins found through the `zoo.plugins` entry points and how each loaded."""
        from zoo.registry import PLUGINS, load_plugins

        load_plugins()
        rows = [
            (p.name, p.distribution or "-", "built-in" if p.builtin else "third-party", p.status,
             len(p.components), f"{p.seconds:.2f}", p.error)
            for p in PLUGINS.values()
        ]
        headers = ("plugin", "distribution", "origin", "status", "components", "load s", "error")
        typer.echo(_table(rows, headers))
