"""``zoo checkpoint upgrade``: an older zoo's checkpoint, its config Python text, rewritten as plain data.

Reading that text means running it, so the zoo never does it on its own; this is the one place it happens,
on a file the user names and vouches for. The result is checked exactly as every later load checks it
(registered types only, sane metadata), and the model is rebuilt from it before it is written.
"""
from __future__ import annotations

from pathlib import Path

from zoo.modelfile import CheckpointError, safe_load, save_checkpoint
from zoo.modelfile.meta import check_meta
from zoo.modelfile.stored_config import FORMAT, config_to_data, without_config_text


def default_upgrade_path(path: Path) -> Path:
    return path.with_name(f"{path.stem}.upgraded{path.suffix or '.pth'}")


def upgrade_checkpoint(path, out=None) -> Path:
    """Write ``path`` with its config as checked plain data to ``out`` (default ``NAME.upgraded.pth``)."""
    from mmengine.config import Config

    from zoo.inference.backends import TorchBackend

    path = Path(path).expanduser()
    out = Path(out).expanduser() if out else default_upgrade_path(path)
    checkpoint = safe_load(path)  # the tensors and the rest still load as plain data only
    meta = checkpoint.get("zoo_meta")
    if not isinstance(meta, dict) or "config" not in meta:
        raise CheckpointError(f"{path} carries no zoo metadata with a config; there is nothing to upgrade")
    if not isinstance(meta["config"], str):
        raise CheckpointError(f"{path} already stores its config as plain data (format "
                              f"{meta.get('format')}); it needs no upgrade")
    try:
        cfg = Config.fromstring(meta["config"], file_format=".py")  # runs the text: the user vouched for it
    except Exception as exc:
        raise CheckpointError(f"{path}: its stored config cannot be read: {type(exc).__name__}: {exc}"
                              ) from None
    upgraded = {**meta, "config": config_to_data(cfg), "format": FORMAT}
    check_meta(upgraded, path)
    checkpoint = {**checkpoint, "zoo_meta": upgraded, "meta": without_config_text(checkpoint.get("meta"))}
    TorchBackend.from_checkpoint(out, checkpoint=checkpoint)  # rebuilt as every later load will rebuild it
    return save_checkpoint(checkpoint, out)
