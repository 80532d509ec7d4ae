"""The project's import graph, read from the source with `ast` (nothing is imported).

Every `import` and `from … import` counts, at module level or inside a function: an import
moved into a function to dodge a cycle is still a cycle.
"""

import ast
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Lowest first. A module may import its own layer and the layers below it, never above:
# cms -> referrals -> advocacy -> accounts -> kernel. config/ is wiring: it may import the apps,
# and no app imports it (they read settings through django.conf).
LAYERS = ["kernel", "accounts", "advocacy", "referrals", "cms", "config"]


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    line: int


def project_modules() -> dict[str, Path]:
    modules = {}
    for top in LAYERS:
        for path in sorted((ROOT / top).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """The project module `name` refers to: itself, or for `pkg.attr` the package."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def _is_package(module: str, modules: dict[str, Path]) -> bool:
    return modules[module].name == "__init__.py"


def edges() -> list[Edge]:
    modules = project_modules()
    found = []
    for module, path in modules.items():
        package = module if _is_package(module, modules) else module.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")
                    anchor = anchor[: len(anchor) - node.level + 1]
                    base = ".".join(anchor + ([base] if base else []))
                # `from pkg import mod` imports the module pkg.mod when there is one.
                names = [f"{base}.{alias.name}" for alias in node.names] or [base]
                names = [n if n in modules else base for n in names]
            for name in names:
                target = _resolve(name, modules)
                # A package's empty __init__ is not a dependency worth a rule.
                if target and target != module:
                    found.append(Edge(module, target, node.lineno))
    return found


def layer(module: str) -> int:
    return LAYERS.index(module.split(".")[0])


def upward_imports(all_edges: list[Edge]) -> list[Edge]:
    return [edge for edge in all_edges if layer(edge.target) > layer(edge.source)]


def cycles(all_edges: list[Edge]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    graph: dict[str, set[str]] = {}
    for edge in all_edges:
        graph.setdefault(edge.source, set()).add(edge.target)
        graph.setdefault(edge.target, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(components)
