"""Where relative data paths point: the repository root, never the current directory.

Configs say ``data_root='../shared/data/isbi2015'`` meaning "beside the checkout"; resolving that
against the CWD is the "works only from the right folder" trap of the project's seed scripts.
"""
from __future__ import annotations

import os
from pathlib import Path


def repo_root() -> Path:
    """The checkout holding ``zoo`` (editable install), else the current directory."""
    here = Path(__file__).resolve().parents[2]
    if (here / "pyproject.toml").is_file() and (here / "zoo").is_dir():
        return here
    return Path.cwd()


def resolve_data_root(data_root: str | os.PathLike | None) -> Path:
    """Absolute path for ``data_root``: absolute as given; relative against the repo root first.

    A relative path that exists only from the current directory is still accepted (a user's own data
    next to their shell), but the repo-root reading wins when both exist.
    """
    if data_root in (None, ""):
        return repo_root()
    path = Path(os.path.expandvars(str(data_root))).expanduser()
    if path.is_absolute():
        return path
    from_repo = (repo_root() / path).resolve()
    if from_repo.exists():
        return from_repo
    from_cwd = (Path.cwd() / path).resolve()
    return from_cwd if from_cwd.exists() else from_repo


def did_you_mean(path: str | os.PathLike, also: tuple = ()) -> str:
    """`` (did you mean X?)`` for a missing path: an existing folder whose name is close to the first
    missing part of ``path`` (``data_cache/synthetic13`` -> ``data_cache/synthetic31``), or one of
    ``also``; else ''."""
    import difflib

    path = Path(path)
    base = path
    while not base.exists() and base != base.parent:
        base = base.parent
    if base == path:
        return ""
    missing = path.relative_to(base).parts
    siblings = {c.name: c for c in base.iterdir() if c.is_dir()} if base.is_dir() else {}
    candidates = {**siblings, **{Path(a).name: Path(a) for a in also if Path(a).parent == path.parent}}
    close = difflib.get_close_matches(missing[0], list(candidates), n=1, cutoff=0.6)
    if not close:
        return ""
    guess = candidates[close[0]].joinpath(*missing[1:])
    return f" (did you mean {guess if guess.exists() else candidates[close[0]]}?)"


def find_child(folder: Path, name: str) -> Path | None:
    """``folder/name`` matched case-insensitively (Aariz ships ``Train``, other copies use ``train``)."""
    exact = folder / name
    if exact.exists():
        return exact
    if not folder.is_dir():
        return None
    wanted = name.lower()
    for child in sorted(folder.iterdir()):
        if child.name.lower() == wanted:
            return child
    return None
