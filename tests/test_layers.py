"""Imports point down: every module of fedgroup/ sits in one layer, and imports only its own layer or the layers
the table below allows. ARCHITECTURE.md draws the same table; this test is what keeps the drawing true.

Every import counts, wherever it is written: at the top of a module, inside a function (a late import hides a
circle from Python, not from the design), and under `if TYPE_CHECKING:` (a type from an upper layer is still
knowledge of that layer: the usual way the runtime sneaks down is as an annotation). A lower layer that needs
something from above takes it as a parameter, or names what it needs in a small Protocol of its own that the
upper object happens to satisfy (actions.context.Context, net.verification.Verifying).

Nothing is run: the modules are read with `ast`, so the test is fast and a broken import cannot hide an arrow.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "fedgroup"

# -- the layers, top to bottom ---------------------------------------------------------------------------------


def _may(names: str) -> frozenset[str]:
    return frozenset(names.split())


# name: (the modules it holds, the layers it may import besides its own). A module name holds itself and
# everything under it; the longest name that matches decides. ARCHITECTURE.md shows the same table.
LAYERS: dict[str, tuple[tuple[str, ...], frozenset[str]]] = {
    # The command line, `fedgroup demo` included: the entry point.
    "cli": (("fedgroup.cli",), _may("app runtime actions net store protocol rules settings version")),
    # The aiohttp application: middlewares, lifecycle, the routes of the two web faces, and the guards on the
    # server's connections (connections.py: slow clients, the cap on open connections).
    "app": (("fedgroup.app", "fedgroup.connections"), _may("ui federation runtime settings version")),
    # The faces people and other servers use. They never import each other (app.py pairs them).
    "ui": (("fedgroup.ui",), _may("runtime actions store protocol rules settings version")),
    "federation": (
        ("fedgroup.federation",),
        _may("runtime actions net store protocol rules settings version"),
    ),
    # Wiring: the running parts of one process, built once (imported by the faces, app.py and the CLI only).
    "runtime": (
        ("fedgroup.runtime", "fedgroup.logs"),
        _may("actions net store protocol rules settings version"),
    ),
    # What people and remote servers can do, one module per subject; the inbox's handlers; the clock's work.
    "actions": (("fedgroup.actions",), _may("net store protocol rules settings version")),
    # Talking to other servers: signed requests, keys and verification, the delivery worker. No campaigns.
    "net": (("fedgroup.net",), _may("store protocol settings version")),
    # SQLite and the data directory: tables and files, nothing of ActivityPub or of the rules.
    "store": (("fedgroup.store",), _may("settings version")),
    # ActivityPub as data: pure functions over plain values (signatures, JSON-LD, vocabulary, parsing, ids).
    "protocol": (("fedgroup.protocol",), _may("rules version")),
    # The group's rules: campaigns, tallies, text hygiene, passwords. Pure: no I/O, no clock.
    "rules": (("fedgroup.rules",), _may("")),
    # The settings value: read by many, imports nothing of ours.
    "settings": (("fedgroup.config",), _may("")),
    # The package root (`__version__`): exactly this module, readable by every layer.
    "version": (("fedgroup",), _may("")),
}

# Third-party packages a layer must not import: the pure layers do no I/O and know no web framework.
FORBIDDEN_PACKAGES: dict[str, frozenset[str]] = {
    "rules": frozenset({"aiohttp", "aiohttp_jinja2", "aiosqlite", "sqlite3", "socket", "asyncio"}),
    "protocol": frozenset({"aiohttp", "aiohttp_jinja2", "aiosqlite", "sqlite3", "socket", "asyncio"}),
    "store": frozenset({"aiohttp", "aiohttp_jinja2", "jinja2"}),
    "settings": frozenset({"aiohttp", "aiosqlite"}),
}

# Arrows the code still has while a planned change is under way: (importer, imported) -> why. Each entry must
# still exist (a stale one fails), so the list only shrinks. Empty when the layout is done.
KNOWN_WRONG: dict[tuple[str, str], str] = {}


def layer_of(module: str) -> str | None:
    if module == "fedgroup":
        return "version"
    best, best_len = None, -1
    for layer, (prefixes, _) in LAYERS.items():
        for prefix in prefixes:
            if prefix != "fedgroup" and (module == prefix or module.startswith(prefix + ".")):
                if len(prefix) > best_len:
                    best, best_len = layer, len(prefix)
    return best


# -- reading imports -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Import:
    importer: str  # dotted module name
    target: str  # dotted name as written, resolved to a module where one exists
    line: int
    where: str  # "top", "function" or "TYPE_CHECKING"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def package_modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py")) if "__pycache__" not in p.parts}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports_of(module: str, source: str, is_package: bool, modules: set[str]) -> Iterator[Import]:
    """Every import in `source`, with where it stands. `modules` resolves `from a import b` to a.b when that is
    a module."""

    def resolve(name: str) -> str:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name

    def visit(node: ast.AST, where: str) -> Iterator[Import]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child.test):
                for stmt in child.body:
                    yield from visit_one(stmt, "TYPE_CHECKING")
                for stmt in child.orelse:
                    yield from visit_one(stmt, where)
            else:
                yield from visit_one(child, where)

    def visit_one(node: ast.AST, where: str) -> Iterator[Import]:
        inner = where
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) and where == "top":
            inner = "function"
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(module, alias.name, node.lineno, where)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from the package this module is in (or is)
                base = module.split(".") if is_package else module.split(".")[:-1]
                base = base[: len(base) - (node.level - 1)]
                source_module = ".".join(base + ([node.module] if node.module else []))
            else:
                source_module = node.module or ""
            for alias in node.names:
                full = f"{source_module}.{alias.name}"
                target = full if full in modules else source_module
                yield Import(module, target, node.lineno, where)
        yield from visit(node, inner)

    for found in visit(ast.parse(source), "top"):
        if found.target == "fedgroup" or found.target.startswith("fedgroup."):
            resolved = resolve(found.target) or found.target
            yield Import(found.importer, resolved, found.line, found.where)
        else:
            yield found


def all_imports() -> list[Import]:
    modules = package_modules()
    names = set(modules)
    found: list[Import] = []
    for name, path in modules.items():
        found.extend(
            imports_of(
                name,
                path.read_text(encoding="utf-8"),
                path.name == "__init__.py",
                names,
            )
        )
    return found


# -- the rules -------------------------------------------------------------------------------------------------


def wrong_arrows(imports: list[Import]) -> list[str]:
    """Imports of ours that point to a layer the importer may not use, as readable lines."""
    wrong = []
    for imp in imports:
        if not (imp.target == "fedgroup" or imp.target.startswith("fedgroup.")):
            continue
        source, target = layer_of(imp.importer), layer_of(imp.target)
        if source is None or target is None or source == target:
            continue  # an unplaced module is reported by its own test
        if target not in LAYERS[source][1] and (imp.importer, imp.target) not in KNOWN_WRONG:
            wrong.append(
                f"{imp.importer}:{imp.line} imports {imp.target} ({imp.where}): "
                f"layer {source} may not import layer {target}"
            )
    return wrong


def forbidden_packages(imports: list[Import]) -> list[str]:
    found = []
    for imp in imports:
        layer = layer_of(imp.importer)
        top = imp.target.split(".")[0]
        if layer in FORBIDDEN_PACKAGES and top in FORBIDDEN_PACKAGES[layer]:
            if (imp.importer, top) in KNOWN_WRONG:
                continue
            found.append(
                f"{imp.importer}:{imp.line} imports {imp.target} ({imp.where}): layer {layer} does no I/O"
            )
    return found


def cycles(imports: list[Import]) -> list[list[str]]:
    """Groups of modules that import each other, directly or round a circle (Tarjan's strongly connected
    components), counting every kind of import."""
    graph: dict[str, set[str]] = {}
    for imp in imports:
        if (imp.importer, imp.target) in KNOWN_WRONG:
            continue  # a circle that only a tolerated arrow closes is on that list already
        if imp.target.startswith("fedgroup") and imp.target != imp.importer:
            graph.setdefault(imp.importer, set()).add(imp.target)
            graph.setdefault(imp.target, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def connect(
        node: str,
    ) -> None:  # recursion depth is bounded by the number of modules (~100)
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for succ in sorted(graph[node]):
            if succ not in index:
                connect(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return found


# -- the tests -------------------------------------------------------------------------------------------------


def test_every_module_has_a_layer() -> None:
    unplaced = sorted(m for m in package_modules() if layer_of(m) is None)
    assert not unplaced, f"modules in no layer (add them to LAYERS here and to ARCHITECTURE.md): {unplaced}"


def test_imports_point_down() -> None:
    wrong = wrong_arrows(all_imports())
    assert not wrong, "imports against the layers:\n" + "\n".join(wrong)


def test_no_import_circles() -> None:
    circles = cycles(all_imports())
    assert not circles, "modules that import each other: " + "; ".join(" <-> ".join(c) for c in circles)


def test_pure_layers_do_no_io() -> None:
    found = forbidden_packages(all_imports())
    assert not found, "\n".join(found)


def test_known_wrong_arrows_still_exist() -> None:
    """The list of tolerated arrows only shrinks: an entry whose import is gone must be struck."""
    present = {(imp.importer, imp.target) for imp in all_imports()}
    stale = sorted(set(KNOWN_WRONG) - present)
    assert not stale, f"strike these from KNOWN_WRONG, the code no longer has them: {stale}"


# The checker itself must be able to fail: the wrong arrows it exists to catch, written out.
_MODULES = {
    "fedgroup",
    "fedgroup.runtime",
    "fedgroup.protocol",
    "fedgroup.protocol.vocab",
    "fedgroup.store",
    "fedgroup.store.db",
    "fedgroup.actions",
    "fedgroup.actions.pledges",
    "fedgroup.ui",
    "fedgroup.ui.pages",
    "fedgroup.federation",
    "fedgroup.federation.inbox",
    "fedgroup.config",
}


def _wrong(module: str, source: str) -> list[str]:
    return wrong_arrows(list(imports_of(module, source, False, _MODULES)))


def test_checker_catches_an_upward_import_at_top_level() -> None:
    assert _wrong("fedgroup.store.db", "from fedgroup.protocol import vocab\n")


def test_checker_catches_an_upward_import_inside_a_function() -> None:
    source = "def f():\n    from fedgroup.runtime import Runtime\n    return Runtime\n"
    found = _wrong("fedgroup.actions.pledges", source)
    assert found and "(function)" in found[0]


def test_checker_catches_a_type_checking_import_of_the_runtime() -> None:
    source = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from fedgroup.runtime import Runtime\n"
    found = _wrong("fedgroup.protocol.vocab", source)
    assert found and "(TYPE_CHECKING)" in found[0]


def test_checker_catches_a_face_importing_another_face() -> None:
    assert _wrong("fedgroup.ui.pages", "from fedgroup.federation import inbox\n")
    assert _wrong("fedgroup.federation.inbox", "import fedgroup.ui.pages\n")


def test_checker_lets_downward_and_same_layer_imports_pass() -> None:
    assert not _wrong(
        "fedgroup.ui.pages",
        "from fedgroup import actions, store\nfrom fedgroup.runtime import RUNTIME\n",
    )
    assert not _wrong("fedgroup.protocol.vocab", "from fedgroup import __version__\n")
    assert not _wrong("fedgroup.actions.pledges", "from fedgroup.actions import context\n")


def test_checker_finds_a_circle() -> None:
    imports = [
        Import("fedgroup.a", "fedgroup.b", 1, "top"),
        Import("fedgroup.b", "fedgroup.c", 1, "function"),
        Import("fedgroup.c", "fedgroup.a", 1, "TYPE_CHECKING"),
        Import("fedgroup.c", "fedgroup.d", 1, "top"),
    ]
    assert cycles(imports) == [["fedgroup.a", "fedgroup.b", "fedgroup.c"]]


def test_checker_finds_io_in_a_pure_layer() -> None:
    imports = list(imports_of("fedgroup.protocol.vocab", "import aiosqlite\n", False, _MODULES))
    assert forbidden_packages(imports)
