"""The house rules of imports: no circles (imports inside functions count), and
`trainables/` never imports `sweep/`."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _modules() -> dict[str, Path]:
    modules = {}
    for package in ("sweep", "trainables"):
        for path in (REPO / package).rglob("*.py"):
            name = ".".join(path.relative_to(REPO).with_suffix("").parts)
            modules[name.removesuffix(".__init__")] = path
    return modules


def _import_graph() -> dict[str, set[str]]:
    """Module -> the project modules it imports anywhere in its body (a package's own
    submodules importing it are not edges: Python loads the package first)."""
    modules = _modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                targets = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            else:
                continue
            for target in targets:
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != name and not name.startswith(target + "."):
                    graph[name].add(target)
    return graph


def test_no_import_circles():
    graph = _import_graph()
    # Depth-first search for a back edge; the path in `active` is the circle.
    done: set[str] = set()

    def visit(module: str, active: list[str]) -> None:
        if module in active:
            raise AssertionError("import circle: " + " -> ".join(
                [*active[active.index(module):], module]))
        if module in done:
            return
        for target in sorted(graph[module]):
            visit(target, [*active, module])
        done.add(module)

    for module in sorted(graph):
        visit(module, [])


def test_trainables_never_import_sweep():
    graph = _import_graph()
    assert not [(module, target) for module, targets in graph.items()
                if module.startswith("trainables") for target in targets
                if target.startswith("sweep")]
