"""The layout rules that import-linter cannot state: file sizes, which part of
eventsourcing the domain may use, and no import circles.

``python -m tests.test_layout`` (run by ``make lint``) prints every breach.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent
#: The longest a module of these packages may be, in lines.
MAX_LINES = {"domain": 400, "application": 400}
#: Modules held shorter than their package's limit.
MAX_LINES_OF = {"application/disputes.py": 300}
#: The parts of eventsourcing the domain may import (the rest is persistence).
DOMAIN_EVENTSOURCING = ("eventsourcing.domain", "eventsourcing.utils")


def oversized() -> list[str]:
    found = []
    for package, default in MAX_LINES.items():
        for path in sorted((ROOT / package).rglob("*.py")):
            name = path.relative_to(ROOT).as_posix()
            limit = MAX_LINES_OF.get(name, default)
            with path.open(encoding="utf-8") as source:
                lines = sum(1 for _ in source)
            if lines > limit:
                found.append(f"{name}: {lines} lines (at most {limit})")
    return found


def _imported(tree: ast.AST) -> list[str]:
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def domain_persistence_imports() -> list[str]:
    found = []
    for path in sorted((ROOT / "domain").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for name in _imported(tree):
            if name.split(".")[0] != "eventsourcing":
                continue
            if not any(name == allowed or name.startswith(allowed + ".")
                       for allowed in DOMAIN_EVENTSOURCING):
                found.append(f"{path.relative_to(ROOT).as_posix()}: imports {name}")
    return found


PACKAGES = ("domain", "application", "infrastructure", "interface")


def import_circles() -> list[str]:
    """Pairs of modules that import each other, directly or not, at run time
    (imports for type checking only are left out: they never run)."""
    graph = grimp.build_graph(*PACKAGES, exclude_type_checking_imports=True)
    found = set()
    for module in graph.modules:
        for imported in graph.find_modules_directly_imported_by(module):
            if imported != module and graph.chain_exists(importer=imported, imported=module):
                found.add(" <-> ".join(sorted((module, imported))))
    return [f"import circle: {pair}" for pair in sorted(found)]


def test_no_import_circles() -> None:
    assert not import_circles(), "\n".join(import_circles())


def test_modules_stay_short() -> None:
    assert not oversized(), "\n".join(oversized())


def test_the_domain_uses_eventsourcing_only_for_aggregates() -> None:
    assert not domain_persistence_imports(), "\n".join(domain_persistence_imports())


def main() -> int:
    problems = oversized() + domain_persistence_imports() + import_circles()
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
