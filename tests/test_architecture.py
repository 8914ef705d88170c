"""The rules of ARCHITECTURE.md, read off the code's own imports."""

from __future__ import annotations

import ast
import functools
from collections.abc import Iterator
from pathlib import Path

import pytest

from components.settings import PROJECT_ROOT

PACKAGES = ("web", "components", "cli")
# Blueprint modules a blueprint may import: what views share, not views of their own.
SHARED_BY_VIEWS = {"web.views.post_page", "web.views.api_schemas"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PROJECT_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@functools.cache
def modules() -> dict[str, Path]:
    return {
        module_name(path): path
        for package in PACKAGES
        for path in sorted((PROJECT_ROOT / package).rglob("*.py"))
    }


def imported_by(path: Path) -> Iterator[str]:
    """Every module `path` imports, at any depth of its code, by its full name.

    `from web import auth` imports the module web.auth: it counts as that, not as the
    package web (whose __init__ builds the app and so imports every blueprint)."""
    known = modules()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                yield submodule if submodule in known else node.module


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: set(imported_by(path)) & set(known) - {name} for name, path in known.items()}


def test_the_modules_are_read() -> None:
    known = modules()
    assert {"web", "web.pages.answer", "components.clock", "cli.commands"} <= set(known)
    assert "web.views.blog" in graph()["web"]


@pytest.mark.parametrize("forbidden", ["web", "cli", "quart", "werkzeug", "hypercorn"])
def test_components_import_no_http_and_no_command_line(forbidden: str) -> None:
    offenders = sorted(
        f"{path.relative_to(PROJECT_ROOT)} imports {name}"
        for module, path in modules().items()
        if module.startswith("components")
        for name in imported_by(path)
        if name == forbidden or name.startswith(f"{forbidden}.")
    )
    assert offenders == []


def test_nothing_in_the_product_imports_the_command_line() -> None:
    offenders = sorted(
        f"{module} imports {name}"
        for module, imports in graph().items()
        if not module.startswith("cli")
        for name in imports
        if name.startswith("cli")
    )
    assert offenders == []


def test_no_blueprint_imports_another() -> None:
    offenders = sorted(
        f"{module} imports {name}"
        for module, imports in graph().items()
        if module.startswith("web.views.")
        for name in imports
        if name.startswith("web.views.") and name not in SHARED_BY_VIEWS
    )
    assert offenders == []


def test_the_page_pipeline_imports_no_view() -> None:
    offenders = sorted(
        f"{module} imports {name}"
        for module, imports in graph().items()
        if module.startswith("web.pages")
        for name in imports
        if name.startswith("web.views")
    )
    assert offenders == []


def test_no_import_circle() -> None:
    edges = graph()
    done: set[str] = set()
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        if module in path:
            return [*path[path.index(module) :], module]
        if module in done:
            return None
        path.append(module)
        for imported in sorted(edges[module]):
            circle = visit(imported)
            if circle:
                return circle
        path.pop()
        done.add(module)
        return None

    circles = [circle for module in sorted(edges) if (circle := visit(module))]
    assert circles == []
