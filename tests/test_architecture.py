"""The house flows one way (docs/architecture.md): no import circles, and no layer imports a higher one.

The rules are easy to break without noticing: a helper imported "just for one function" from the layer
above works, every test passes, and the next change that imports the other way makes a circle that only
fails at import time, in whichever order a program happens to import things. So the code is read here
with ``ast`` (nothing is imported: the test is fast, and sees imports that a test run would not reach),
every import is an edge, at module level and inside functions alike, relative ones resolved, and the
graph is checked against :data:`LAYERS`, which the architecture page shows as its table.
"""
from __future__ import annotations

import ast
import itertools
import re
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
ARCHITECTURE_PAGE = REPO_ROOT / "docs" / "architecture.md"
#: the entry in LAYERS that stands for every plugin package found under plugins/
PLUGINS = "plugins/*"

#: bottom to top: ``(name, modules and packages)``. A module belongs to the entry that is its longest
#: dotted prefix (``zoo`` alone is the package's own ``__init__``). A layer may import its own and every
#: lower layer; docs/architecture.md shows the same table, and a test below keeps the two equal.
LAYERS = (
    ("foundation", ("zoo.errors", "zoo.version", "zoo.structures")),
    ("registry", ("zoo.registry",)),
    ("model files, data, quality maths", ("zoo.modelfile", "zoo.data", "zoo.quality")),
    ("components", ("zoo.necks", "zoo.heads", "zoo.decoders", "zoo.losses", "zoo.models", "zoo.evaluation",
                    PLUGINS)),
    ("workflows", ("zoo.clinical", "zoo.inference", "zoo.engine", "zoo.exporters", "zoo.model_zoo",
                   "zoo.calibration", "zoo.benchmarking", "zoo.leaderboard")),
    ("entry points", ("zoo.serve", "zoo.commands", "zoo.cli", "zoo.api", "zoo")),
)


def source_roots(root: Path) -> list[Path]:
    """The top-level package folders: ``zoo/`` and every plugin package under ``plugins/`` (a folder with
    an ``__init__.py`` whose parent has none)."""
    plugins = [init.parent for init in (root / "plugins").rglob("__init__.py")
               if not (init.parent.parent / "__init__.py").is_file()]
    return [root / "zoo", *sorted(plugins)]


def module_files(roots: list[Path]) -> dict[str, Path]:
    """Dotted module name -> file, for every ``.py`` under the package roots."""
    modules = {}
    for package in roots:
        for path in sorted(package.rglob("*.py")):
            parts = path.relative_to(package.parent).with_suffix("").parts
            modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def _eager(tree: ast.AST) -> set[int]:
    """The ids of the nodes that run when the module is imported: everything outside function bodies."""
    found, todo = set(), [tree]
    while todo:
        node = todo.pop()
        found.add(id(node))
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            todo.extend(ast.iter_child_nodes(node))
    return found


def _origin(node: ast.ImportFrom, package: str) -> str:
    """The absolute module a ``from ... import`` reads, relative levels resolved against ``package``."""
    if not node.level:
        return node.module
    parts = package.split(".")
    return ".".join(parts[:len(parts) - (node.level - 1)] + ([node.module] if node.module else []))


def imports_of(module: str, path: Path, modules: dict) -> list[tuple[str, int, str | None, bool]]:
    """``(imported module, line, name or None, at import time)`` for every import in the file, at any
    depth (functions, ``if``, ``try``), relative ones resolved against the module's package. ``name`` is
    what ``from package import name`` takes when it is no submodule; imports of outside code are left out."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    eager = _eager(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [(alias.name, None) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            origin = _origin(node, package)
            targets = [(f"{origin}.{alias.name}", None) if f"{origin}.{alias.name}" in modules
                       else (origin, alias.name) for alias in node.names]
        else:
            continue
        for target, name in targets:
            # outside code, and ours that is not there (an import guarded by ``except ImportError``, or one
            # broken, which the tests that run it report), make no edge
            if target in modules and target != module:
                found.append((target, node.lineno, name, id(node) in eager))
    return found


def layer_of(module: str, plugin_packages: set[str]) -> tuple[int, str, str] | None:
    """``(layer number, layer name, the LAYERS entry that placed it)``, or None when no entry covers it."""
    best = None
    for number, (name, entries) in enumerate(LAYERS):
        for entry in entries:
            for prefix in (plugin_packages if entry == PLUGINS else (entry,)):
                covers = module == prefix or module.startswith(prefix + ".")
                if covers and (best is None or len(prefix) > len(best[2])):
                    best = (number, name, prefix)
    return best


class Graph:
    """The import graph of zoo/ and plugins/: ``edges[module][imported module]`` is the first line that
    imports it, ``imports[module]`` every import as :func:`imports_of` reads it."""

    def __init__(self, root: Path = REPO_ROOT):
        self.root = root
        self.files = module_files(source_roots(root))
        self.imports = {m: imports_of(m, path, self.files) for m, path in self.files.items()}
        self.edges = {m: {} for m in self.files}
        for module, found in self.imports.items():
            for target, line, _, _ in found:
                self.edges[module].setdefault(target, line)
        self.plugins = {m.split(".")[0] for m in self.files} - {"zoo"}

    def where(self, module: str, line: int) -> str:
        return f"{self.files[module].relative_to(self.root).as_posix()}:{line}"

    def layer(self, module: str) -> tuple[int, str, str] | None:
        return layer_of(module, self.plugins)

    def held_to(self, module: str, target: str, name: str | None) -> str:
        """Whose layer an import is held to. ``from zoo import hookimpl`` (the plugins' one import of the
        zoo) runs ``zoo/__init__.py``'s import-time code, which reaches only ``zoo.registry`` and
        ``zoo.version``, and takes a name the package took from ``zoo.registry``: it is held to the
        registry's layer, as long as nothing the package runs on import lies above the importer.
        ``import zoo`` and ``from zoo import load`` (bound on first use, from ``zoo.api``) are held to the
        package's own layer."""
        mine = self.layer(module)
        source = next((t for t, _, taken, eager in self.imports.get(target, ()) if eager and taken == name),
                      None) if name else None
        if source is None or mine is None:
            return target
        run = [t for t, _, _, eager in self.imports[target] if eager]
        if any((self.layer(t) or (len(LAYERS),))[0] > mine[0] for t in run):
            return target
        return self.held_to(module, source, name)

    def circles(self) -> list[list[str]]:
        """One circle per strongly connected group of modules (Tarjan's algorithm, without recursion): the
        shortest way from the group's first module back to itself, a loop to cut."""
        index, low, on_stack, stack, groups = {}, {}, set(), [], []
        for start in sorted(self.edges):
            if start in index:
                continue
            index[start] = low[start] = len(index)
            stack.append(start)
            on_stack.add(start)
            work = [(start, iter(sorted(self.edges[start])))]
            while work:
                node, children = work[-1]
                child = next(children, None)
                if child is not None:
                    if child not in index:
                        index[child] = low[child] = len(index)
                        stack.append(child)
                        on_stack.add(child)
                        work.append((child, iter(sorted(self.edges[child]))))
                    elif child in on_stack:
                        low[node] = min(low[node], index[child])
                    continue
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    group = set()
                    while node not in group:
                        group.add(stack.pop())
                    on_stack -= group
                    if len(group) > 1:
                        groups.append(group)
        loops = []
        for group in groups:
            first = min(group)
            paths, queue = {first: [first]}, [first]
            while queue:  # breadth first inside the group: the shortest way back
                node = queue.pop(0)
                if first in self.edges[node]:  # no module imports itself, so node is not first here
                    loops.append(paths[node] + [first])
                    break
                for child in sorted(self.edges[node]):
                    if child in group and child not in paths:
                        paths[child] = paths[node] + [child]
                        queue.append(child)
        return sorted(loops)

    def circle_report(self) -> list[str]:
        """Each circle as its path, then each step with the line that makes it."""
        report = []
        for loop in self.circles():
            steps = [f"{a} -> {b}  ({self.where(a, self.edges[a][b])})" for a, b in itertools.pairwise(loop)]
            report.append("circle " + " -> ".join(loop) + "\n    " + "\n    ".join(steps))
        return report

    def upward_imports(self) -> list[str]:
        """Every import of a higher layer: where, who, whom, and the two layers."""
        report = []
        for module in sorted(self.imports):
            mine = self.layer(module)
            for target, line, name, _ in sorted(self.imports[module]):
                held = self.held_to(module, target, name)
                theirs = self.layer(held)
                if mine is None or theirs is None or theirs[0] <= mine[0]:
                    continue
                report.append(f"{self.where(module, line)}: {module} (layer {mine[0]}, {mine[1]}) imports "
                              f"{held} (layer {theirs[0]}, {theirs[1]})")
        return list(dict.fromkeys(report))


def test_every_module_has_a_layer():
    graph = Graph()
    homeless = sorted(m for m in graph.files if graph.layer(m) is None)
    assert not homeless, ("modules in no layer; add their package to LAYERS in tests/test_architecture.py "
                          f"and to the table in docs/architecture.md: {homeless}")


def test_no_import_circles():
    report = Graph().circle_report()
    assert not report, (f"{len(report)} import circle(s); cut one edge of each (move the shared part down, "
                        "or have the lower module receive what it needs):\n" + "\n".join(report))


def test_no_layer_imports_a_higher_one():
    report = Graph().upward_imports()
    assert not report, (f"{len(report)} import(s) reach up the house; a layer imports only its own and lower "
                        "layers (docs/architecture.md):\n" + "\n".join(report))


def test_the_architecture_page_shows_the_same_layers():
    """The page's table rows (``| 3 | components | `zoo.necks`, ... |``) name the same layers, bottom to
    top, with the same packages: the page a contributor reads is the rule this test applies."""
    row = re.compile(r"^\|\s*(\d+)\s*\|\s*([^|]+?)\s*\|([^|]*)\|", re.MULTILINE)
    rows = row.findall(ARCHITECTURE_PAGE.read_text(encoding="utf-8"))
    page = [(int(number), name, tuple(re.findall(r"`([^`]+)`", cell))) for number, name, cell in rows]
    ours = [(number, name, entries) for number, (name, entries) in enumerate(LAYERS)]
    assert page == ours, f"docs/architecture.md's layer table is not LAYERS:\n page {page}\n test {ours}"


def test_the_graph_sees_every_kind_of_import(tmp_path):
    """The reader itself, on a small tree made for it: imports inside functions, relative ones at each
    depth, ``from package import submodule``, outside code and absent modules left out, circles found, and
    a package's import-time re-export held to its source's layer while its lazily bound names are not."""
    files = {
        "zoo/__init__.py": "from .registry import hook\n\ndef __getattr__(name):\n    from . import api\n",
        "zoo/api.py": "",
        "zoo/registry/__init__.py": "hook = None\ndef later():\n    from .absent import x\n",
        "zoo/data/__init__.py": "from . import reader\nimport numpy\n",
        "zoo/data/reader.py": "def read():\n    from ..models.net import Net\n    return Net\n",
        "zoo/models/__init__.py": "",
        "zoo/models/net.py": "from zoo.data import reader\nfrom zoo import registry\nNet = 1\n",
        "plugins/examples/pkg-folder/zoo_demo/__init__.py": "from zoo import hook\n",
        "plugins/zoo_other/__init__.py": "import zoo\nfrom zoo import api\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    graph = Graph(tmp_path)
    assert graph.edges == {
        "zoo": {"zoo.registry": 1, "zoo.api": 4}, "zoo.api": {}, "zoo.registry": {},
        "zoo.data": {"zoo.data.reader": 1}, "zoo.data.reader": {"zoo.models.net": 2}, "zoo.models": {},
        "zoo.models.net": {"zoo.data.reader": 1, "zoo.registry": 2},
        "zoo_demo": {"zoo": 1}, "zoo_other": {"zoo": 1, "zoo.api": 2}}
    assert graph.circles() == [["zoo.data.reader", "zoo.models.net", "zoo.data.reader"]]
    assert graph.layer("zoo_demo")[1] == "components" and graph.layer("zoo.data.reader")[0] == 2
    assert graph.held_to("zoo_demo", "zoo", "hook") == "zoo.registry"
    assert graph.upward_imports() == [
        ("zoo/data/reader.py:2: zoo.data.reader (layer 2, model files, data, quality maths) imports "
         "zoo.models.net (layer 3, components)"),
        ("plugins/zoo_other/__init__.py:1: zoo_other (layer 3, components) imports zoo "
         "(layer 5, entry points)"),
        ("plugins/zoo_other/__init__.py:2: zoo_other (layer 3, components) imports zoo.api "
         "(layer 5, entry points)")]
