"""ARCHITECTURE.md's dependency rule, checked against every import in ``novaload/``.

The rows are read from the page itself ("## Dependency rule", its numbered list: the
backticked names outside parentheses), so the page and this test cannot disagree. An import
is any ``import`` statement (module-level, in a function, under ``TYPE_CHECKING``) and any
string that names a novaload module, since such a string is loaded by name
(``importlib.import_module``, as ``run/pipeline.py``'s ``_AFTER_K6``, or ``python -m``).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "novaload"
ARCHITECTURE = ROOT / "ARCHITECTURE.md"

# The page's exceptions: the lazy public API and ``python -m novaload`` (the one importer of
# cli) are outside the rule.
OUTSIDE = frozenset({"__init__", "__main__"})


@dataclass(frozen=True)
class Edge:
    source: str  # package (or single module) that imports
    target: str  # package it imports from
    file: str  # novaload/x/y.py
    line: int
    what: str  # the statement's module, or the string

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"

    def __str__(self) -> str:
        return f"{self.where}: {self.source} -> {self.target} ({self.what})"


def rows(page: str) -> list[list[str]]:
    """ARCHITECTURE.md's rows, top first."""
    _, found, section = page.partition("\n## Dependency rule\n")
    assert found, "ARCHITECTURE.md has no '## Dependency rule' section"
    section = section.split("\n## ", 1)[0]
    items = re.findall(r"^(\d+)\. (.*(?:\n {3}.*)*)", section, re.MULTILINE)
    assert [int(n) for n, _ in items] == list(range(1, len(items) + 1)), (
        f"ARCHITECTURE.md's rows are not numbered 1..n: {[n for n, _ in items]}"
    )
    out = [re.findall(r"`(\w+)`", re.sub(r"\([^)]*\)", "", body)) for _, body in items]
    assert all(out), f"a row of ARCHITECTURE.md names no package: {out}"
    return out


def _package_of(module: str) -> str | None:
    """``novaload.results.live`` -> ``results``; the top-level package itself -> None."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def _lazy_exports(root: Path) -> dict[str, str]:
    """``novaload/__init__.py``'s ``_EXPORTS``: ``from novaload import run_test`` imports run."""
    init = root / "__init__.py"
    for node in ast.parse(init.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "_EXPORTS" for t in node.targets
        ):
            exports: dict[str, str] = ast.literal_eval(node.value)
            return exports
    return {}


def edges(root: Path = PACKAGE) -> list[Edge]:
    """Every import between two different packages under ``root`` (a ``novaload/`` folder)."""
    files = sorted(root.rglob("*.py"))
    modules = set()
    for path in files:
        parts = ("novaload", *path.relative_to(root).with_suffix("").parts)
        modules.add(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    exports = _lazy_exports(root)
    out = []
    for path in files:
        rel = path.relative_to(root)
        source = rel.parts[0].removesuffix(".py")
        if source in OUTSIDE:
            continue
        here = ("novaload", *rel.with_suffix("").parts[:-1])  # the module's package
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            named: list[str] = []
            if isinstance(node, ast.Import):
                named = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = ".".join(here[: len(here) - node.level + 1])
                    module = f"{base}.{node.module}" if node.module else base
                else:
                    module = node.module or ""
                if module != "novaload":
                    named = [module]
                else:  # a submodule, a lazily exported name, or __version__ (no edge)
                    for alias in node.names:
                        name = f"novaload.{alias.name}"
                        named.append(name if name in modules else exports.get(alias.name, module))
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in modules:
                named = [node.value]
            for name in named:
                target = _package_of(name) if name.split(".")[0] == "novaload" else None
                if target is not None and target != source:
                    file = f"{root.name}/{rel.as_posix()}"
                    out.append(Edge(source, target, file, getattr(node, "lineno", 0), name))
    return sorted(out, key=lambda e: (e.file, e.line, e.target))


def packages(root: Path = PACKAGE) -> set[str]:
    """The folders and single modules directly under ``novaload/``, less the exceptions."""
    found = {p.name for p in root.iterdir() if p.is_dir() and any(p.rglob("*.py"))}
    found |= {p.stem for p in root.glob("*.py")}
    return found - OUTSIDE


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan: the strongly connected components with more than one package."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return out


def shortest_loop(graph: dict[str, set[str]], component: list[str]) -> list[str]:
    """A shortest cycle inside a strongly connected component, as ``[a, b, ..., a]``."""
    best: list[str] = []
    for start in component:
        paths = {start: [start]}
        queue = [start]
        while queue:
            node = queue.pop(0)
            if start in graph.get(node, ()) and (not best or len(paths[node]) < len(best) - 1):
                best = [*paths[node], start]
                break
            for nxt in sorted(graph.get(node, ())):
                if nxt in component and nxt not in paths:
                    paths[nxt] = [*paths[node], nxt]
                    queue.append(nxt)
    return best


def violations(all_edges: list[Edge], table: list[list[str]]) -> list[str]:
    """Edges that do not go to a row above their own. Row 1's single modules may import each
    other (the page says so; the cycle test keeps them acyclic)."""
    row = {name: number for number, names in enumerate(table, 1) for name in names}
    out = []
    for e in all_edges:
        if e.source not in row or e.target not in row:
            continue  # test_every_package_has_one_row names it
        mine, theirs = row[e.source], row[e.target]
        if theirs < mine or mine == theirs == 1:
            continue
        where = "its own row" if theirs == mine else "a row below"
        out.append(
            f"{e.where}: {e.source} (row {mine}) imports {e.what}: {e.target} is row {theirs}, {where}"
        )
    return out


# -- the rule, on novaload itself ---------------------------------------------------------


def test_every_package_has_one_row() -> None:
    table = rows(ARCHITECTURE.read_text(encoding="utf-8"))
    named = [name for names in table for name in names]
    twice = sorted({n for n in named if named.count(n) > 1})
    assert not twice, f"ARCHITECTURE.md's rows name {twice} more than once"
    on_disk = packages()
    missing, stale = sorted(on_disk - set(named)), sorted(set(named) - on_disk)
    assert not missing, f"novaload/ has {missing}, which no row of ARCHITECTURE.md's rule names"
    assert not stale, f"ARCHITECTURE.md's rows name {stale}, which novaload/ does not have"


def test_packages_import_only_from_rows_above() -> None:
    table = rows(ARCHITECTURE.read_text(encoding="utf-8"))
    bad = violations(edges(), table)
    if bad:
        pytest.fail("imports against ARCHITECTURE.md's dependency rule:\n" + "\n".join(bad), pytrace=False)


def test_no_import_cycles_between_packages() -> None:
    all_edges = edges()
    graph: dict[str, set[str]] = {}
    for e in all_edges:
        graph.setdefault(e.source, set()).add(e.target)
    report = []
    for component in cycles(graph):
        loop = shortest_loop(graph, component)
        report.append(f"cycle between {', '.join(component)}, e.g. {' -> '.join(loop)}:")
        for source, target in zip(loop, loop[1:]):
            first = next(e for e in all_edges if (e.source, e.target) == (source, target))
            report.append(f"  {first}")
    if report:
        pytest.fail("\n".join(report), pytrace=False)


# -- the checker, on a made-up package ----------------------------------------------------


def test_every_kind_of_import_is_an_edge(tmp_path: Path) -> None:
    root = tmp_path / "novaload"
    files = {
        "__init__.py": '_EXPORTS = {"run_it": "novaload.c.go"}\nimport novaload.c\n',
        "__main__.py": "import novaload.c\n",
        "errors.py": "",
        "a/__init__.py": "",
        "a/m.py": (
            "from typing import TYPE_CHECKING\n"
            "import novaload.errors\n"
            "from . import n\n"  # own package: no edge
            "from ..b import x\n"
            "if TYPE_CHECKING:\n"
            "    from novaload.c.go import y\n"
            "def f():\n"
            "    from novaload import errors, run_it, __version__\n"
            "LATER = ('novaload.d', 'novaload.d.nope', 'novaload.io/label')\n"
        ),
        "a/n.py": "",
        "b/__init__.py": "x = 1\n",
        "c/__init__.py": "",
        "c/go.py": "import novaload.a.m\n",
        "d.py": "",
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")

    assert [str(e) for e in edges(root)] == [
        "novaload/a/m.py:2: a -> errors (novaload.errors)",
        "novaload/a/m.py:4: a -> b (novaload.b)",
        "novaload/a/m.py:6: a -> c (novaload.c.go)",
        "novaload/a/m.py:8: a -> c (novaload.c.go)",
        "novaload/a/m.py:8: a -> errors (novaload.errors)",
        "novaload/a/m.py:9: a -> d (novaload.d)",
        "novaload/c/go.py:1: c -> a (novaload.a.m)",
    ]
    assert packages(root) == {"errors", "a", "b", "c", "d"}
    table = [["errors"], ["a", "d"], ["b", "c"]]
    assert violations(edges(root), table) == [
        "novaload/a/m.py:4: a (row 2) imports novaload.b: b is row 3, a row below",
        "novaload/a/m.py:6: a (row 2) imports novaload.c.go: c is row 3, a row below",
        "novaload/a/m.py:8: a (row 2) imports novaload.c.go: c is row 3, a row below",
        "novaload/a/m.py:9: a (row 2) imports novaload.d: d is row 2, its own row",
    ]


def test_cycles_are_strongly_connected_components() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": {"e"}, "e": {"d"}, "f": {"a"}}
    assert cycles(graph) == [["d", "e"], ["a", "b", "c"]]
    assert shortest_loop({**graph, "b": {"c", "a"}}, ["a", "b", "c"]) == ["a", "b", "a"]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_rows_are_the_backticked_names_outside_parentheses() -> None:
    page = (
        "# x\n\n## Dependency rule\n\nText `ignored`.\n\n"
        "1. `errors`, `fileio`\n   (single modules; `not_a_row`)\n"
        "2. `config`\n"
        "3. `cli` (imported by nothing but `__main__`)\n\n"
        "So `neither`.\n\n## Where to start\n\n1. `nor`\n"
    )
    assert rows(page) == [["errors", "fileio"], ["config"], ["cli"]]
