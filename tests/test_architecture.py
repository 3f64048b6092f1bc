"""The layers of docs/ARCHITECTURE.md, held: a module may import only the apps its layer allows.

Every ``import`` of every module of the project's apps is read (also the ones inside functions), so
a late import cannot slip across a forbidden edge.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

CASE_APPS = frozenset({"iniciativas", "transfers", "registrations", "compensations"})
ENGINE = frozenset({"approvals", "workflows"})
# app -> the project apps it may import (besides itself). Bottom to top, as docs/ARCHITECTURE.md draws it.
ALLOWED: dict[str, frozenset[str]] = {
    "cases": frozenset(),
    "audit": frozenset({"cases"}),
    "budget": frozenset({"cases", "audit"}),
    "registry": frozenset({"cases", "audit", "budget"}),
    "approvals": frozenset({"cases", "audit", "budget", "registry", "workflows"}),
    "workflows": frozenset({"cases", "audit", "budget", "registry", "approvals"}),
    "reports": frozenset({"cases", "audit", "budget", "registry"}),
    **{app: frozenset({"cases", "audit", "budget", "registry", *ENGINE}) for app in CASE_APPS},
}
SITE = "expediente"  # the site may import every app; nothing imports it but itself
PROJECT = frozenset({*ALLOWED, SITE})


def imported_apps(source: str) -> set[str]:
    """The project apps a module's source imports (absolute imports, at any depth of the module)."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found |= {name.split(".")[0] for name in names} & PROJECT
    return found


def violations(root: Path) -> list[str]:
    found = []
    for app in sorted(PROJECT):
        for path in sorted((root / app).rglob("*.py")):
            for target in sorted(imported_apps(path.read_text(encoding="utf-8")) - {app}):
                if app != SITE and target not in ALLOWED[app]:
                    found.append(f"{path.relative_to(root)} imports {target}")
    return found


def test_no_module_imports_across_a_forbidden_edge():
    assert violations(ROOT) == []


def test_every_app_is_in_a_layer():
    """A new app must be placed in the layers (here and in docs/ARCHITECTURE.md) before it lands."""
    apps = {p.parent.name for p in ROOT.glob("*/apps.py")}
    assert apps <= PROJECT, f"apps without a layer: {sorted(apps - PROJECT)}"
    assert {"cases", "audit", "budget", "registry", "approvals", "workflows", "reports"} <= apps


def test_the_rules_say_what_the_issue_asks():
    # The kernel and audit know no domain; budget knows no case type; siblings never import each
    # other; nothing but the site imports reports.
    assert ALLOWED["cases"] == frozenset()
    assert ALLOWED["audit"] == {"cases"}
    for app, allowed in ALLOWED.items():
        assert "reports" not in allowed
        if app not in CASE_APPS:
            assert not (allowed & CASE_APPS), app
        else:
            assert not (allowed & (CASE_APPS - {app})), app


@pytest.mark.parametrize(
    ("app", "source", "bad"),
    [
        ("audit", "from registry.models import Unit\n", "registry"),
        ("budget", "def f():\n    from iniciativas.forms import AmountField\n", "iniciativas"),
        ("transfers", "import iniciativas.admin\n", "iniciativas"),
        ("approvals", "from reports import selectors\n", "reports"),
        ("cases", "from audit import record\n", "audit"),
    ],
)
def test_the_scan_finds_a_forbidden_import(tmp_path, app, source, bad):
    """The check itself can fail: a module that crosses an edge (even inside a function) is reported."""
    (tmp_path / app).mkdir()
    (tmp_path / app / "bad.py").write_text(source)
    for other in PROJECT - {app}:
        (tmp_path / other).mkdir()
    assert violations(tmp_path) == [f"{app}/bad.py imports {bad}"]


def test_allowed_imports_are_not_reported(tmp_path):
    for app in PROJECT:
        (tmp_path / app).mkdir()
    (tmp_path / "transfers" / "ok.py").write_text("from cases import kinds\nfrom approvals import steps\n")
    (tmp_path / "expediente" / "ok.py").write_text("from reports import views\nimport transfers\n")
    assert violations(tmp_path) == []
