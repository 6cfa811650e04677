"""The code's structure, as ARCHITECTURE.md draws it: every module of app/ sits in a layer of the
import-linter contract (so `lint-imports` checks it), and blueprints stay thin."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "app"
BLUEPRINTS = ("main", "booking", "manage", "call", "turns", "staff", "api")
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
