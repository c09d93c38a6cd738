"""No import runs upward: the layering rules of STYLE.md, checked on the source (every import
statement, also those inside functions), so a new upward import fails the suite."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Project plumbing that any layer may use: it imports Django alone (checked below), never the
# apps or the wiring.
PLUMBING = ("billing_portal.compiled_queries",)

# (the modules under this folder, may not import modules starting with any of these)
RULES = [
    ("accounts", ("credits", "billing_portal")),
    ("billing_portal/compiled_queries.py", ("accounts", "credits", "billing_portal")),
    # Template libraries every page loads: Django alone, like the plumbing.
    ("billing_portal/templatetags", ("accounts", "credits", "billing_portal")),
    ("credits/models", ("credits.services", "credits.selectors", "credits.views", "credits.forms",
                        "credits.admin")),
    ("credits/selectors", ("credits.services", "credits.views", "credits.forms", "credits.admin",
                           "credits.stripe_client")),
    ("credits/services", ("credits.views", "credits.forms", "credits.admin")),
    ("credits/forms", ("credits.services", "credits.views", "credits.admin")),
    ("credits/admin", ("credits.views",)),
    ("credits/views", ("credits.views", "credits.admin")),
]


def _imports(path: Path) -> list[str]:
    names = []
    # The package a relative import starts from (`from . import x` in a/b/c.py is a.b.x).
    package = list(path.relative_to(ROOT).with_suffix("").parts)[:-1]
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            names.append(module)
            # `from credits import stripe_client` names the module in the alias.
            names.extend(f"{module}.{alias.name}" for alias in node.names)
    return names


def _violations(folder: str, forbidden: tuple[str, ...]) -> list[str]:
    found = []
    where = ROOT / folder
    for path in sorted(where.rglob("*.py")) if where.is_dir() else [where]:
        if "migrations" in path.parts:
            continue
        for name in _imports(path):
            if any(name == allowed or name.startswith(allowed + ".") for allowed in PLUMBING):
                continue
            if any(name == bad or name.startswith(bad + ".") for bad in forbidden):
                found.append(f"{path.relative_to(ROOT)} imports {name}")
    return found


@pytest.mark.parametrize(("folder", "forbidden"), RULES, ids=[folder for folder, _ in RULES])
def test_no_import_runs_upward(folder, forbidden):
    assert _violations(folder, forbidden) == []


def _project_with(tmp_path, monkeypatch, relative: str, source: str) -> None:
    """A project holding one module, which the checker then reads instead of this one."""
    (tmp_path / relative).parent.mkdir(parents=True)
    (tmp_path / relative).write_text(source)
    monkeypatch.setattr(__import__(__name__, fromlist=["ROOT"]), "ROOT", tmp_path)


def test_the_checker_sees_an_upward_import(tmp_path, monkeypatch):
    # The rule above could pass by finding nothing at all; prove it finds one.
    source = "def f():\n    from credits.services import ledger\n"
    _project_with(tmp_path, monkeypatch, "accounts/bad.py", source)
    assert _violations("accounts", ("credits",)) == [
        "accounts/bad.py imports credits.services",
        "accounts/bad.py imports credits.services.ledger",
    ]


def test_the_checker_sees_a_relative_import(tmp_path, monkeypatch):
    source = "from . import settings\nfrom .urls import x\n"
    _project_with(tmp_path, monkeypatch, "billing_portal/plumbing.py", source)
    assert _violations("billing_portal/plumbing.py", ("billing_portal",)) == [
        "billing_portal/plumbing.py imports billing_portal",
        "billing_portal/plumbing.py imports billing_portal.settings",
        "billing_portal/plumbing.py imports billing_portal.urls",
        "billing_portal/plumbing.py imports billing_portal.urls.x",
    ]
