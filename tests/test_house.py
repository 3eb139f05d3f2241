"""The house keeps its shape: packages by role, no import cycle, no module too long.

Counted at file level: an import inside a function counts (it runs, just later); an
import under ``if TYPE_CHECKING:`` does not (it never runs).
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import ROOT

BOT = ROOT / "bot"
MAX_LINES = 400
MAX_ROOT_MODULES = 10


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(BOT.rglob("*.py"))}


def _type_checking_only(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imported(tree: ast.AST, known: dict[str, Path]) -> set[str]:
    """The bot modules a module imports, wherever in it the import stands."""
    found: set[str] = set()
    stack: list[ast.AST] = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _type_checking_only(node):
            stack.extend(node.orelse)
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in known)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                found.add(submodule if submodule in known else node.module)
        stack.extend(ast.iter_child_nodes(node))
    return {name for name in found if name in known}


def import_graph() -> dict[str, set[str]]:
    known = modules()
    return {
        name: imported(ast.parse(path.read_text(encoding="utf-8")), known) - {name}
        for name, path in known.items()
    }


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle as a path (first module repeated at the end), or []."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(name: str) -> list[str]:
        state[name] = 1
        path.append(name)
        for target in sorted(graph[name]):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (cycle := visit(target)):
                return cycle
        path.pop()
        state[name] = 2
        return []

    for name in sorted(graph):
        if name not in state and (cycle := visit(name)):
            return cycle
    return []


def test_the_checker_sees_a_cycle_through_an_import_inside_a_function():
    source = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import bot.b\n"
    known = {"bot.a": Path("a"), "bot.b": Path("b")}
    assert imported(ast.parse(source), known) == set()
    inside = "def f():\n    from bot.b import thing\n"
    assert imported(ast.parse(inside), known) == {"bot.b"}
    graph = {"bot.a": {"bot.b"}, "bot.b": {"bot.c"}, "bot.c": {"bot.a"}}
    assert find_cycle(graph) == ["bot.a", "bot.b", "bot.c", "bot.a"]


def test_no_module_imports_itself_round_a_cycle():
    cycle = find_cycle(import_graph())
    assert not cycle, "import cycle: " + " -> ".join(cycle)


def test_no_module_is_longer_than_the_limit():
    long = {
        str(path.relative_to(ROOT)): lines
        for path in BOT.rglob("*.py")
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not long, f"over {MAX_LINES} lines (split by concern): {long}"


def test_the_root_of_bot_holds_only_what_a_reader_needs_first():
    loose = sorted(path.name for path in BOT.glob("*.py"))
    assert len(loose) <= MAX_ROOT_MODULES, loose


# What a flow must never reach: the edges, the store, I/O. Flows are pure.
_NOT_FOR_FLOWS = (
    "bot.adapters",
    "bot.store",
    "bot.matrix",
    "bot.sinks",
    "bot.delivery",
    "bot.runtime",
    "bot.channels",
    "bot.commands",
)
_IO_LIBRARIES = ("aiosqlite", "nio", "telegram", "aiohttp", "sqlite3", "socket", "subprocess")


def _libraries(tree: ast.AST) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_flows_stay_pure():
    graph = import_graph()
    for name, path in modules().items():
        if not name.startswith("bot.flows"):
            continue
        reached = sorted(t for t in graph[name] if t.startswith(_NOT_FOR_FLOWS))
        assert not reached, f"{name} imports {reached}"
        libraries = _libraries(ast.parse(path.read_text(encoding="utf-8")))
        assert not libraries & set(_IO_LIBRARIES), f"{name} does I/O"
