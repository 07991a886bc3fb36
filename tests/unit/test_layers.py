"""Imports point one way: each package imports only the packages below it."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ["mvt_service", "simulator", "trainer", "store", "policy", "replay"]
"""Top to bottom: the service, the simulated shop that drives it, the trainer, the store layer,
and the pure libraries."""


def imported_packages(package: str) -> set[str]:
    found = set()
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                found.add(node.module.split(".")[0])
    return (found & set(LAYERS)) - {package}


def test_each_package_imports_only_the_layers_below_it() -> None:
    upward = {
        package: sorted(p for p in imported_packages(package) if LAYERS.index(p) < LAYERS.index(package))
        for package in LAYERS
    }
    assert {p: up for p, up in upward.items() if up} == {}
    assert "store" in imported_packages("trainer") and "store" in imported_packages("mvt_service")
