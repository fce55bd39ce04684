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


def resolve_data_root(data_root: "str | os.PathLike | None") -> Path:
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


def find_child(folder: Path, name: str) -> Path | None:
    """``folder/name`` matched case-insensitively (Aariz ships ``Train``, the seeds use ``train``)."""
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
