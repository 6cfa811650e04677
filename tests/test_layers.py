"""The code's structure, as ARCHITECTURE.md draws it: every module of app/ sits in a layer of the
import-linter contract (so `lint-imports` checks it), and blueprints stay thin."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "app"
BLUEPRINTS = ("main", "booking", "manage", "call", "turns", "staff", "admin", "api")
LONGEST_BLUEPRINT_FUNCTION = 40  # lines: a route parses input, calls one domain function, renders


def contract_layers() -> list[set[str]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    (contract,) = config["tool"]["importlinter"]["contracts"]
    return [
        {name.strip() for part in layer.split("|") for name in part.split(":")}
        for layer in contract["layers"]
    ]


def top_level_modules() -> set[str]:
    """app's modules and packages, except data folders and the package itself."""
    names = {f"app.{path.stem}" for path in APP.glob("*.py") if path.name != "__init__.py"}
    names |= {f"app.{path.name}" for path in APP.iterdir() if (path / "__init__.py").exists()}
    return names


def test_every_module_of_app_is_in_a_layer_of_the_import_contract():
    placed = set().union(*contract_layers())
    assert top_level_modules() - placed == set(), "add the new module to a layer in pyproject.toml"
    assert placed - top_level_modules() == set(), "the contract names a module that no longer exists"


def test_the_blueprints_are_the_top_layer():
    assert contract_layers()[0] >= {f"app.{name}" for name in BLUEPRINTS}


def blueprint_functions():
    for package in BLUEPRINTS:
        for path in sorted((APP / package).glob("*.py")):
            tree = ast.parse(path.read_text(), filename=str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    yield f"{path.relative_to(ROOT)}:{node.name}", node.end_lineno - node.lineno + 1


@pytest.mark.parametrize("name,lines", list(blueprint_functions()), ids=lambda value: str(value))
def test_no_function_in_a_blueprint_is_longer_than_forty_lines(name, lines):
    assert lines <= LONGEST_BLUEPRINT_FUNCTION, f"{name} has {lines} lines: move its rules to the domain"


DOMAIN_SKIP = {"__init__.py", "pdf_inspect.py", "pdf_render.py"}  # child scripts: no database
SESSION_WRITES = {"commit", "rollback", "add", "add_all", "delete", "execute"}
TRANSACTION_HELPERS = {"write_transaction", "end_read_transaction"}
SAYS_TRANSACTION = ("commit", "transaction", "read-only", "session")


def domain_paths():
    for path in sorted(APP.rglob("*.py")):
        top = path.relative_to(APP).parts[0].removesuffix(".py")
        if (
            top not in BLUEPRINTS
            and path.name not in DOMAIN_SKIP
            and top not in ("cli", "web", "forms", "errors", "templating")
        ):
            yield path


def _writes(call: ast.Call) -> bool:
    """`db.session.commit()`, `db.session.add(...)`, …, or a call of a transaction helper."""
    function = call.func
    if isinstance(function, ast.Name):
        return function.id in TRANSACTION_HELPERS
    if isinstance(function, ast.Attribute):
        if function.attr in TRANSACTION_HELPERS:
            return True
        receiver = function.value
        return (
            function.attr in SESSION_WRITES
            and isinstance(receiver, ast.Attribute)
            and receiver.attr == "session"
        )
    return False


def writing_public_functions():
    """Public domain functions that commit, roll back, start or end a transaction, or add rows."""
    for path in domain_paths():
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in tree.body:
            if not isinstance(node, ast.FunctionDef) or node.name.startswith("_"):
                continue
            if any(_writes(call) for call in ast.walk(node) if isinstance(call, ast.Call)):
                yield f"{path.relative_to(ROOT)}:{node.name}", ast.get_docstring(node) or ""


@pytest.mark.parametrize(
    "name,docstring", list(writing_public_functions()), ids=lambda value: str(value)[:80]
)
def test_a_domain_function_that_writes_says_what_it_does_with_the_transaction(name, docstring):
    assert any(word in docstring.lower() for word in SAYS_TRANSACTION), (
        f"{name}: say in its docstring whether it commits, or adds to the caller's session"
    )


def import_cycles() -> list[list[str]]:
    """Groups of app modules that import each other, directly or through others (Tarjan's SCC)."""
    import grimp  # import-linter's own graph builder, installed with it

    graph = grimp.build_graph("app", cache_dir=None)
    modules = sorted(m for m in graph.modules if m != "app")  # the package root wires everything
    edges = {m: sorted(graph.find_modules_directly_imported_by(m) - {"app"}) for m in modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for target in edges.get(module, []):
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                cycles.append(sorted(group))

    for module in modules:
        if module not in index:
            visit(module)
    return cycles


def test_no_module_of_app_takes_part_in_an_import_cycle():
    assert import_cycles() == []
