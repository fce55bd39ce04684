"""The rules every file under ``configs/`` keeps, so that a reader can hold a recipe in their head.

A recipe is read from the top: its header says what it is and how to run it, its ``_base_`` chain is short
enough to follow by hand, its pipelines are written out as lists of named steps (an index into a base's list
silently edits the wrong step once the base changes), and the values that must agree between the model and
its pipelines (input size, patch geometry, heatmap sigma) do. These tests read the files as text and syntax
trees, then check the resolved configs; building the models is ``test_configs.py``'s job.
"""
from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

import pytest

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
FILES = sorted(CONFIGS.rglob("*.py"))
RECIPES = [p for p in FILES if "_base_" not in p.relative_to(CONFIGS).parts]
#: recipes kept at the top level by their documented paths; every other recipe lives in a family folder
TOP_LEVEL = {"quickstart.py", "hrnet_w48_31lm.py"}
#: algorithm_backbone[_tricks]_b<batch>[-<schedule>]_<dataset>[-<subset>]-<input size>.py
CANONICAL = re.compile(r"(hm|reg|two-stage)_[a-z0-9-]+(_[a-z0-9-]+)?_b\d+(-[a-z0-9]+)?_[a-z0-9]+(-[a-z0-9]+)*-\d+\.py")
MAX_DEPTH = 3  # a config, its base, its base's base
MAX_HEADER = 3


def _ids(paths):
    return [p.relative_to(CONFIGS).as_posix() for p in paths]


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _bases(path: Path) -> list[Path]:
    for node in _tree(path).body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "_base_" for t in node.targets):
            value = ast.literal_eval(node.value)
            names = [value] if isinstance(value, str) else list(value)
            return [(path.parent / name).resolve() for name in names]
    return []


@cache
def _depth(path: Path) -> int:
    """Files in the longest ``_base_`` chain from ``path`` down, ``path`` included."""
    return 1 + max((_depth(base) for base in _bases(path)), default=0)


def _header(path: Path) -> list[str]:
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        lines.append(line)
    return lines


def _positional_pipeline_edits(path: Path) -> list[str]:
    """``x_pipeline[i]`` and ``x_pipeline.insert/pop/...(...)``: edits that depend on where a step sits."""
    def is_pipeline(node) -> bool:
        name = node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else ""
        return name.endswith("pipeline")

    found = []
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.Subscript) and is_pipeline(node.value):
            found.append(f"line {node.lineno}: {ast.unparse(node)}")
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and is_pipeline(node.func.value)
              and node.func.attr in ("insert", "pop", "append", "extend", "remove", "update")):
            found.append(f"line {node.lineno}: {ast.unparse(node.func)}(...)")
    return found


def test_there_are_recipes_and_bases():
    assert len(RECIPES) >= 10 and len(FILES) > len(RECIPES)


@pytest.mark.parametrize("path", FILES, ids=_ids(FILES))
def test_inheritance_is_at_most_three_files_deep(path):
    for base in _bases(path):
        assert base.is_file(), f"{path.name}: _base_ {base} does not exist"
    assert _depth(path.resolve()) <= MAX_DEPTH


@pytest.mark.parametrize("path", FILES, ids=_ids(FILES))
def test_header_is_at_most_three_lines_without_dates_or_outside_references(path):
    header = _header(path)
    assert 1 <= len(header) <= MAX_HEADER, f"{len(header)} header lines: what it is and the command, no more"
    comments = [line for line in path.read_text(encoding="utf-8").splitlines() if line.lstrip().startswith("#")]
    for line in comments:
        assert not re.search(r"\b20\d\d-\d\d-\d\d\b", line), f"a date in a config: {line}"
        assert not re.search(r"\bissue\b|\b[A-Z]{3,}\.md\b", line, re.IGNORECASE), f"an outside reference: {line}"


@pytest.mark.parametrize("path", FILES, ids=_ids(FILES))
def test_pipelines_are_rebuilt_from_named_steps_not_edited_by_position(path):
    assert _positional_pipeline_edits(path) == []


@pytest.mark.parametrize("path", RECIPES, ids=_ids(RECIPES))
def test_recipe_names_follow_the_scheme(path):
    relative = path.relative_to(CONFIGS)
    if len(relative.parts) == 1:
        assert relative.name in TOP_LEVEL, f"{relative}: recipes live in a family folder (configs/<family>/)"
    else:
        assert len(relative.parts) == 2 and CANONICAL.fullmatch(relative.name), f"{relative}: see configs/README.md"


def _steps(cfg, kind: str) -> list[dict]:
    return [step for loader in ("train_dataloader", "val_dataloader", "test_dataloader")
            if cfg.get(loader) for step in cfg[loader]["dataset"]["pipeline"] if step["type"] == kind]


def _heatmap_stages(model) -> list[dict]:
    stages = [model[k] for k in ("global_stage", "refine_stage") if k in model] or [model]
    return [s for s in stages if isinstance(s.get("head"), dict) and "sigma" in s["head"]]


@pytest.mark.parametrize("path", RECIPES, ids=_ids(RECIPES))
def test_values_the_model_and_its_pipelines_share_agree(path):
    """The letterbox is one size in every pipeline and the model's; refine patches are cut as the model reads
    them; a heatmap head's target sigma is its DARK decoder's modulation sigma."""
    from mmengine.config import Config

    cfg = Config.fromfile(str(path))
    model = cfg.model
    sizes = {tuple(step["size"]) for step in _steps(cfg, "LetterboxResize")}
    assert len(sizes) == 1, f"letterbox sizes differ between pipelines: {sizes}"
    (size,) = sizes
    for detector in [model, model.get("global_stage") or {}]:
        if "input_size" in detector:
            assert (detector["input_size"],) * 2 == size, "model input size and letterbox differ"
    for step in _steps(cfg, "RefinePatches"):
        assert (step["patch_size"], step["patch_scale"]) == (model["patch_size"], model["patch_scale"])
        assert step.get("context") == model.get("patch_context")
    for stage in _heatmap_stages(model):
        decoder = stage.get("decoder") or {}
        if decoder.get("type") == "DarkDecoder":
            assert decoder["blur_sigma"] == stage["head"]["sigma"], "DARK's blur and the target's sigma differ"


def _readme_example(marker: str) -> str:
    """The python block of configs/README.md whose first line starts with ``marker``."""
    text = (CONFIGS / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, re.DOTALL)
    (block,) = [b for b in blocks if b.startswith(marker)]
    return block


def test_readme_backbone_swap_builds_and_fails_without_delete(tmp_path):
    """The README's swap example: with ``_delete_=True`` a ResNet-34 replaces HRNet and the model runs; without
    it the HRNet keys reach the ResNet and building fails, as the README says."""
    import torch
    from mmengine.config import Config

    from zoo.registry import MODELS, load_plugins

    load_plugins()
    example = _readme_example("# configs/heatmap/hm_resnet34_b8-2k_isbi19-512.py")
    # written elsewhere, so the example's relative _base_ points back into configs/heatmap/
    example = example.replace("'./hm_hrnet", repr(str(CONFIGS / "heatmap"))[:-1] + "/hm_hrnet")
    swapped = tmp_path / "swap with delete.py"
    swapped.write_text(example, encoding="utf-8")
    cfg = Config.fromfile(str(swapped))
    assert dict(cfg.model.backbone) == dict(type="ResNetBackbone", depth=34, pretrained=False)
    torch.manual_seed(0)
    model = MODELS.build(cfg.model).eval()
    with torch.no_grad():
        coords, _ = model(torch.randn(1, 3, 128, 128), mode="tensor")
    assert coords.shape == (1, 19, 2)

    leaky = tmp_path / "swap without delete.py"
    leaky.write_text(example.replace("_delete_=True, ", ""), encoding="utf-8")
    cfg = Config.fromfile(str(leaky))
    assert cfg.model.backbone.arch == "hrnet_w18"
    with pytest.raises(Exception, match="arch"):
        MODELS.build(cfg.model)
