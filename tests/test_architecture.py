"""No import cycles between the modules of `solver`, at module level or inside functions.

The layers contract (`lint-imports`) keeps imports pointing down between
layers; this test closes the gap it leaves: two modules of one layer (or a
function-level import that postpones the cycle to run time) importing each
other. The module graph comes from grimp; the imports inside functions are
read with `ast` as well, so a cycle hidden in a function body is caught even
where grimp's reading of lazy imports changes.
"""

from __future__ import annotations

import ast
import importlib.util
import itertools
from collections.abc import Iterator, Mapping
from pathlib import Path

import grimp
import pytest

Edges = dict[str, dict[str, str]]  # importer -> imported -> where ("module:line: the import")


def module_edges(package: str) -> Edges:
    """Direct imports between the package's modules, as grimp reads them."""
    graph = grimp.build_graph(package)
    edges: Edges = {m: {} for m in graph.modules}
    for importer in graph.modules:
        for imported in graph.find_modules_directly_imported_by(importer):
            detail = graph.get_import_details(importer=importer, imported=imported)
            where = (f"{importer}:{detail[0]['line_number']}: {detail[0]['line_contents']}"
                     if detail else importer)
            edges[importer][imported] = where
    return edges


def function_imports(package: str, modules: set[str]) -> Iterator[tuple[str, str, str]]:
    """(importer, imported, where) for every import statement inside a function body."""
    spec = importlib.util.find_spec(package)
    assert spec is not None and spec.submodule_search_locations, f"{package} is not a package"
    root = Path(next(iter(spec.submodule_search_locations)))
    for path in sorted(root.rglob("*.py")):
        parts = [package, *path.relative_to(root).with_suffix("").parts]
        is_package = parts[-1] == "__init__"
        module = ".".join(parts[:-1] if is_package else parts)
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for func in ast.walk(tree):
            if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(func):
                if not isinstance(node, ast.Import | ast.ImportFrom):
                    continue
                for imported in _targets(node, module, is_package, modules):
                    yield module, imported, f"{module}:{node.lineno}: {ast.unparse(node)} (in {func.name})"


def _targets(node: ast.Import | ast.ImportFrom, module: str, is_package: bool, modules: set[str]
             ) -> list[str]:
    """The package modules an import statement names (`from x import y` may name module x.y)."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        base = node.module or ""
        if node.level:  # relative: resolved against the importing module's package
            anchor = module.split(".")
            anchor = anchor[: len(anchor) - node.level + (1 if is_package else 0)]
            base = ".".join([*anchor, base] if base else anchor)
        names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
                 for alias in node.names]
    out = []
    for name in names:
        while name and name not in modules:  # `import a.b.c` of a non-module: its nearest module
            name = name.rpartition(".")[0]
        if name:
            out.append(name)
    return out


def import_edges(package: str) -> Edges:
    """Module-level (grimp) and function-level (ast) imports between the package's modules.

    An import inside a function is described as such, since that is where a
    cycle hides.
    """
    edges = module_edges(package)
    for importer, imported, where in function_imports(package, set(edges)):
        if imported != importer:
            edges.setdefault(importer, {})[imported] = where
    return edges


def find_cycle(edges: Mapping[str, Mapping[str, str]]) -> list[str] | None:
    """One import cycle as a path [a, b, ..., a], or None; deterministic (modules in sorted order)."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = 1
        path.append(module)
        for nxt in sorted(edges.get(module, {})):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt):], nxt]
            if nxt not in state and (found := visit(nxt)) is not None:
                return found
        path.pop()
        state[module] = 2
        return None

    for module in sorted(edges):
        if module not in state and (found := visit(module)) is not None:
            return found
    return None


def describe(cycle: list[str], edges: Mapping[str, Mapping[str, str]]) -> str:
    """The cycle's path, then the import statement behind each step."""
    steps = [f"  {edges[a][b]}" for a, b in itertools.pairwise(cycle)]
    return "import cycle: " + " -> ".join(cycle) + "\n" + "\n".join(steps)


def test_no_import_cycle_between_solver_modules() -> None:
    edges = import_edges("solver")
    cycle = find_cycle(edges)
    assert cycle is None, describe(cycle, edges)


def test_a_cycle_hidden_in_a_function_is_found_and_named(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    pkg = tmp_path / "cyclepkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from cyclepkg.sub import b\n")
    (pkg / "sub" / "b.py").write_text("def late():\n    from .. import a\n    return a\n")
    (pkg / "c.py").write_text("import cyclepkg.a\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    edges = import_edges("cyclepkg")
    cycle = find_cycle(edges)
    assert cycle == ["cyclepkg.a", "cyclepkg.sub.b", "cyclepkg.a"]
    message = describe(cycle, edges)
    assert message.startswith("import cycle: cyclepkg.a -> cyclepkg.sub.b -> cyclepkg.a")
    assert "cyclepkg.sub.b:2: from .. import a (in late)" in message


def test_acyclic_graph_has_no_cycle() -> None:
    assert find_cycle({"a": {"b": ""}, "b": {"c": ""}, "c": {}}) is None
    assert find_cycle({"a": {"b": ""}, "b": {"c": ""}, "c": {"b": ""}}) == ["b", "c", "b"]
