"""`config/` is the wiring on top: a config module that an app imports never imports an app.

Settings, URLs, WSGI/ASGI, middleware and the health views may import the apps; the plumbing the
apps build on (API base classes, the command base class, admin helpers, logging, metrics, checks)
must not, or importing an app would import the app back through config/ (an import cycle).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = ("applications", "identity", "consent", "branding")
# Plumbing the settings name (DRF classes, schema hooks, middleware, logging) that must stay app-free too.
PLUMBING = {"config.api", "config.api_errors", "config.api_schema", "config.api_viewsets", "config.cli"}
PLUMBING |= {"config.checks", "config.logs", "config.metrics", "config.security", "config.admin_helpers"}
PLUMBING |= {"config.errors"}


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at any depth (function-level imports included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def config_module_path(name: str) -> Path | None:
    parts = name.split(".")
    for candidate in (ROOT.joinpath(*parts).with_suffix(".py"), ROOT.joinpath(*parts, "__init__.py")):
        if candidate.exists():
            return candidate
    return None


def config_modules_imported_by_apps() -> set[str]:
    """config modules the apps import, and the config modules those import in turn."""
    pending = set(PLUMBING) | {
        name
        for app in APPS
        for path in (ROOT / app).rglob("*.py")
        if "migrations" not in path.parts
        for name in imported_modules(path)
        if name.startswith("config.") and config_module_path(name)
    }
    seen: set[str] = set()
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        pending |= {
            m for m in imported_modules(config_module_path(name)) if m.startswith("config.") and config_module_path(m)
        }
    return seen


def test_the_apps_import_config_plumbing_and_it_exists():
    assert all(config_module_path(name) for name in PLUMBING)
    imported = config_modules_imported_by_apps()
    assert {"config.api", "config.cli", "config.checks", "config.admin_helpers"} <= imported
    assert "config.urls" not in imported and "config.health" not in imported


def test_no_config_module_imported_by_an_app_imports_an_app():
    offenders = {
        name: sorted(m for m in imported_modules(config_module_path(name)) if m.split(".")[0] in APPS)
        for name in sorted(config_modules_imported_by_apps())
    }
    assert {name: apps for name, apps in offenders.items() if apps} == {}
