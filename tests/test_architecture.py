"""The layers hold: data flows one way, and a backward import anywhere (even inside a function) fails here.

core (wenming) ← accounts, ingest ← capture, classifier ← scoring ← api, bot ← wiring. docs/ARCHITECTURE.md explains
why.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("wenming", "accounts", "ingest", "capture", "classifier", "scoring", "api", "bot", "wiring")
DOORS = {"fastapi", "starlette", "typer", "uvicorn", "itchat", "websockets", "apscheduler"}

# package -> packages (and third-party doors) it must never import
FORBIDDEN: dict[str, set[str]] = {
    "wenming": {"accounts", "ingest", "capture", "classifier", "scoring", "api", "bot", "wiring"} | DOORS,
    "accounts": {"ingest", "capture", "classifier", "scoring", "api", "bot", "wiring"} | DOORS,
    "ingest": {"accounts", "capture", "classifier", "scoring", "api", "bot", "wiring"} | DOORS,
    "capture": {"accounts", "classifier", "scoring", "api", "bot", "wiring"} | DOORS,
    "classifier": {"accounts", "capture", "scoring", "api", "bot", "wiring"} | DOORS,
    "scoring": {"accounts", "capture", "api", "bot", "wiring"} | DOORS,
    "api": {"bot", "wiring"},
    "bot": {"api", "wiring"},
    "wiring": set(),
}


def imports_of(path: Path, root: Path = ROOT) -> list[tuple[int, str]]:
    """Every module a file imports, at any depth (lazy imports inside functions count too)."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the file's own package
                package = path.relative_to(root).parent.parts
                base = package[: len(package) - node.level + 1]
                found.append((node.lineno, ".".join([*base, node.module or ""]).strip(".")))
            elif node.module:
                found.append((node.lineno, node.module))
    return found


def backward_imports(package: str, root: Path = ROOT) -> list[str]:
    forbidden = FORBIDDEN[package]
    problems = []
    for path in sorted((root / package).rglob("*.py")):
        for line, module in imports_of(path, root):
            if module.split(".")[0] in forbidden:
                problems.append(f"{path.relative_to(root)}:{line} imports {module}")
    return problems


@pytest.mark.parametrize("package", PACKAGES)
def test_no_package_imports_against_the_flow(package: str) -> None:
    assert backward_imports(package) == []


def test_the_check_sees_lazy_and_relative_imports(tmp_path: Path) -> None:
    (tmp_path / "ingest").mkdir()
    sample = tmp_path / "ingest" / "probe.py"
    sample.write_text("def late():\n    from scoring import service\n    from . import models\n", encoding="utf-8")
    assert backward_imports("ingest", tmp_path) == ["ingest/probe.py:2 imports scoring"]
    assert (3, "ingest") in imports_of(sample, tmp_path)


def test_every_package_is_placed_in_a_layer() -> None:
    on_disk = {p.parent.name for p in ROOT.glob("*/__init__.py")} - {"tests", "migrations", "demo", "bench"}
    assert on_disk == set(PACKAGES)
