"""The user docs stay true as the code moves: the site builds with no warning, the README stays a short front
page whose links lead somewhere and whose commands are the ones CI runs, every repository path the docs name
exists, and the documented `_delete_=True` config example builds and runs.

Configs and scripts get renamed; a page that still names the old file reads fine and fails the first user who
copies the command. These tests make that a CI failure instead."""
from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

README_MAX_LINES = 200
#: top-level folders and files whose paths the docs may name; a token starting with one of these must exist
REPO_DIRS = ("configs", "tools", "zoo", "plugins", "tests", "docs", "projects", "benchmarks")
PATH_TOKEN = re.compile(rf"^(?:{'|'.join(REPO_DIRS)})(?:/[\w.\-]+)*/?$")
FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.S | re.M)
INLINE_CODE = re.compile(r"`([^`\n]+)`")
MD_LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
#: files outside the repository that code and docs must not cite (they are not shipped to users)
OUTSIDE_FILES = ("SEEDS.md", "ANCHORS.md", "PITFALLS.md", "DESIGN.md", "FORMATS.md", "STYLE.md")


def doc_files(root: Path) -> list[Path]:
    return [root / "README.md", *sorted((root / "docs").glob("*.md"))]


def named_paths(text: str) -> set[str]:
    """Repository paths written in code (fenced blocks and inline spans): what a user copies."""
    code = [m.group(1) for m in FENCE.finditer(text)]
    code += INLINE_CODE.findall(FENCE.sub("", text))
    found = set()
    for chunk in code:
        for token in re.split(r"[\s,;()\[\]{}=<>'\"|]+", chunk):
            token = token.split("::", 1)[0].rstrip(".:")
            if "/" in token and PATH_TOKEN.match(token):
                found.add(token)
    return found


def python_blocks(text: str) -> list[str]:
    return [m.group(1) for m in re.finditer(r"^```python\n(.*?)^```", text, re.S | re.M)]


def test_readme_is_a_short_front_page(repo_root):
    lines = (repo_root / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) < README_MAX_LINES, f"README.md has {len(lines)} lines; details belong in docs/"


def test_readme_relative_links_resolve_to_repository_files(repo_root):
    readme = (repo_root / "README.md").read_text(encoding="utf-8")
    targets = [t for t in MD_LINK.findall(readme) if not re.match(r"^(?:[a-z]+:|#)", t)]
    assert targets, "README.md links nothing"
    broken = []
    for target in targets:
        path = (repo_root / target.split("#", 1)[0]).resolve()
        if not path.exists() or not path.is_relative_to(repo_root.resolve()):
            broken.append(target)
    assert not broken, f"README.md links to paths that are not in the repository: {broken}"


def test_readme_keeps_the_setup_commands_and_the_ci_test_command(repo_root):
    readme = (repo_root / "README.md").read_text(encoding="utf-8")
    assert "pip install -e . && zoo train configs/quickstart.py" in readme

    def normalise(command: str) -> str:
        # `python -m pip install -q` in CI is the README's `pip install`, quieter
        return re.sub(r"\s+", " ", re.sub(r"\bpython -m pip\b", "pip", command).replace(" -q -e", " -e")).strip()

    readme_tests = [line for line in readme.splitlines() if "python -m pytest" in line]
    assert len(readme_tests) == 1, readme_tests
    ci_lines = [line for line in (repo_root / ".ci" / "run").read_text(encoding="utf-8").splitlines()
                if "pytest" in line and not line.lstrip().startswith("#")]
    assert normalise(readme_tests[0]) in [normalise(line) for line in ci_lines], (readme_tests[0], ci_lines)


def test_every_repository_path_the_docs_name_exists(repo_root):
    missing = {}
    for page in doc_files(repo_root):
        gone = sorted(p for p in named_paths(page.read_text(encoding="utf-8")) if not (repo_root / p).exists())
        if gone:
            missing[page.relative_to(repo_root).as_posix()] = gone
    assert not missing, f"the docs name files that do not exist (renamed or moved?): {missing}"


def test_docs_cite_nothing_outside_the_repository_and_carry_no_run_dates(repo_root):
    problems = []
    for page in doc_files(repo_root):
        text = page.read_text(encoding="utf-8")
        name = page.relative_to(repo_root).as_posix()
        problems += [f"{name} cites {f}" for f in OUTSIDE_FILES if f in text]
        problems += [f"{name} cites {m}" for m in re.findall(r"\bissue \d+", text, re.I)]
        if page.name != "model_zoo.md":  # the generated model table may say when each figure was measured
            problems += [f"{name} dates a run: {m}" for m in re.findall(r"\b20\d\d-[01]\d-[0-3]\d\b", text)]
    assert not problems, problems


def test_docs_site_builds_strictly_with_every_page_in_the_nav(repo_root, tmp_path):
    pytest.importorskip("mkdocs", reason="mkdocs is not installed (pip install -e '.[dev]')")
    config = yaml.safe_load((repo_root / "mkdocs.yml").read_text(encoding="utf-8"))
    nav_pages = {next(iter(item.values())) for item in config["nav"]}
    on_disk = {p.name for p in (repo_root / "docs").glob("*.md")}
    assert on_disk == nav_pages, f"pages not in mkdocs.yml's nav: {on_disk - nav_pages}; " \
                                 f"nav pages missing: {nav_pages - on_disk}"
    site = tmp_path / "built site"
    proc = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(repo_root / "mkdocs.yml"),
                           "-d", str(site)], cwd=repo_root, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    for page in nav_pages:
        assert (site / page).with_suffix(".html").is_file(), page


def delete_examples(root: Path) -> list[tuple[str, str]]:
    """(where, code) of every documented config block that uses ``_delete_=True``: the configs page's, the
    plugins page's (a backbone swap into the 31-landmark recipe), and the configs folder's own README when it
    shows one."""
    found = []
    for page in (root / "docs" / "configs.md", root / "docs" / "plugins.md", root / "configs" / "README.md"):
        if page.is_file():
            found += [(page.relative_to(root).as_posix(), block)
                      for block in python_blocks(page.read_text(encoding="utf-8")) if "_delete_=True" in block]
    return found


def write_example(block: str, root: Path, folder: Path) -> Path:
    """The block as a config file of the user's own (in a folder with a space), its ``_base_`` paths, written
    relative to configs/, made absolute."""
    bases = []
    for node in ast.parse(block).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "_base_" for t in node.targets):
            values = node.value.elts if isinstance(node.value, ast.List) else [node.value]
            bases += [v.value for v in values]
    assert bases, "the example names no _base_"
    # an example that says where it lives ("# configs/heatmap/x.py: ...") resolves its _base_ from there
    named = re.match(r"#\s*(configs/\S+\.py)", block.strip())
    home = (root / named.group(1)).parent if named else root / "configs"
    for base in bases:
        target = (home / base).resolve()
        assert target.is_file(), f"the example's _base_ {base!r} is not a config in {home.relative_to(root)}"
        block = block.replace(f"'{base}'", repr(target.as_posix())).replace(f'"{base}"', repr(target.as_posix()))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "my_swapped_config.py"
    path.write_text(block, encoding="utf-8")
    return path


def swapped_type(block: str) -> str:
    """The ``type`` written beside ``_delete_=True``."""
    for node in ast.walk(ast.parse(block)):
        if isinstance(node, ast.Call):
            kw = {k.arg: k.value for k in node.keywords}
            if "_delete_" in kw and isinstance(kw.get("type"), ast.Constant):
                return kw["type"].value
    raise AssertionError("no type=... beside _delete_=True")


def build(path: Path):
    import torch

    from zoo.engine.config import load_config
    from zoo.registry import MODELS, load_plugins

    load_plugins()
    model = MODELS.build(load_config(path).model).eval()
    with torch.no_grad():
        model(torch.zeros(1, 3, 128, 128), mode="tensor")
    return model


@pytest.mark.parametrize("where", [w for w, _ in delete_examples(Path(__file__).resolve().parents[2])] or ["none"])
def test_documented_part_swap_builds_and_runs(where, repo_root, tmp_path):
    examples = dict(delete_examples(repo_root))
    assert examples, "docs/configs.md lost its _delete_=True example"
    block = examples[where]
    model = build(write_example(block, repo_root, tmp_path / "my configs"))
    new_type = swapped_type(block)
    assert any(type(m).__name__ == new_type for m in model.modules()), f"no {new_type} in the built model"


def test_without_delete_the_base_backbone_keys_break_the_swap(repo_root, tmp_path):
    """What the docs say happens without ``_delete_=True``: the base's HRNet keys reach the ResNet."""
    block = dict(delete_examples(repo_root))["docs/configs.md"]
    merged = block.replace("_delete_=True, ", "")
    assert merged != block
    with pytest.raises(Exception, match="arch"):
        build(write_example(merged, repo_root, tmp_path / "my configs"))
