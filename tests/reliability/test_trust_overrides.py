"""``--cfg-options`` cannot make mmengine import a module, through ``zoo test`` as through ``zoo train``.

Issue #33 (item 7): ``zoo test --cfg-options custom_hooks.0.type=os.system`` ran it, while ``zoo train`` refused
the same (and only after building its datasets from the overridden config). The payload here is a module on
``sys.path`` that leaves a marker file when it is imported: "nothing was imported" is observed, not assumed.
"""
from __future__ import annotations

import sys
import textwrap

import pytest
from reliability_helpers import fast_config

pytestmark = pytest.mark.timeout(300)

PAYLOAD = "zoo_trust_override_payload"
#: override -> what the refusal must say about it
OVERRIDES = {
    "custom_hooks.0.type=os.system": "a type is the name of a registered component, never an import path",
    f"custom_hooks.0.type={PAYLOAD}.PayloadHook": "never an import path",
    f"test_dataloader.dataset.type={PAYLOAD}": f"'{PAYLOAD}' is not registered",
    f"custom_imports.imports=[{PAYLOAD}]": "custom_imports makes mmengine import modules",
    f"default_scope={PAYLOAD}": "only the zoo's scope is allowed",
    f"model._scope_={PAYLOAD}": "only the zoo's scope is allowed",
    "_base_=/etc/passwd": "_base_ makes mmengine import modules or read other files",
}


@pytest.fixture
def payload(tmp_path, monkeypatch):
    """An importable module whose import writes ``marker``; yields the marker."""
    folder = tmp_path / "importable"
    folder.mkdir()
    marker = tmp_path / "imported.marker"
    (folder / f"{PAYLOAD}.py").write_text(textwrap.dedent(f"""
        from pathlib import Path

        Path(r'{marker}').write_text('imported')


        class PayloadHook:
            def __init__(self, *args, **kwargs):
                Path(r'{marker}').write_text('built')
    """))
    monkeypatch.syspath_prepend(str(folder))
    yield marker
    sys.modules.pop(PAYLOAD, None)


@pytest.mark.parametrize("command", ["test", "train"])
@pytest.mark.parametrize("override", sorted(OVERRIDES))
def test_an_override_that_would_import_is_refused_before_anything_runs(command, override, payload, tmp_path,
                                                                       tiny_data, capsys, tally):
    from mmengine.logging import MMLogger

    from zoo.cli import main

    MMLogger._instance_dict.clear()  # loggers made under an earlier test's capture would write to a closed stream
    config = fast_config(tmp_path, tiny_data, max_iters=2, interval=2)
    work = tmp_path / "work"
    extra = [str(tmp_path / "model.pth")] if command == "test" else ["--no-test"]
    with pytest.raises(SystemExit) as exit_info:
        main([command, str(config), *extra, "--work-dir", str(work), "--cfg-options", override])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2, err[-3000:]
    (line,) = [line for line in err.splitlines() if line.startswith("error:")]
    key = override.split("=", 1)[0]
    assert f"--cfg-options {key}=" in line and "refused, nothing was built or imported" in line, line
    assert OVERRIDES[override] in line, line
    assert "Traceback" not in err
    assert not payload.exists() and PAYLOAD not in sys.modules
    assert not work.exists()  # refused before the Runner made its work dir
    tally(f"override that imports, through zoo {command}")


def test_registered_types_and_plain_values_still_pass():
    from zoo.engine.config import check_overrides

    parsed = check_overrides(["model.head.type=HeatmapHead", "custom_hooks.0.priority=NORMAL",
                              "default_scope=zoo", "train_cfg.max_iters=3", "model.test_cfg.flip=[1,2]"])
    assert parsed["model.head.type"] == "HeatmapHead" and parsed["train_cfg.max_iters"] == 3
    assert check_overrides(None) == {}
