"""docs/api.md lists exactly the routes the application serves, with their roles and successes.

The page is the contract in the repository; the OpenAPI document is what the
app serves. Each route's roles come from the last sentence of its OpenAPI
description ("Roles: a, b.", "Any authenticated role.", "No token needed."),
which the app writes from the access table, and its successes are its 2xx and
304 answers. A route added, removed, opened to another role or answering
another success without the page following fails here.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

API_DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"
METHODS = ("get", "post", "put", "patch", "delete")
ROW = re.compile(r"^\| (GET|POST|PUT|PATCH|DELETE) \| `([^`]+)` \| [^|]+ \| ([^|]+) \| ([^|]+) \|$")

Route = tuple[str, str]


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """The document does not depend on the store: SQLite only."""
    return f"sqlite:///{tmp_path}/events.db"


def documented(text: str) -> dict[Route, tuple[str, str]]:
    rows: dict[Route, tuple[str, str]] = {}
    for line in text.splitlines():
        match = ROW.match(line.strip())
        if match:
            method, path, roles, successes = (part.strip() for part in match.groups())
            assert (method.lower(), path) not in rows, f"docs/api.md lists {method} {path} twice"
            rows[(method.lower(), path)] = (roles, successes)
    return rows


def roles_of(description: str) -> str:
    if "No token needed" in description:
        return "no token"
    if re.search(r"any authenticated( role)?\.?\s*$", description, re.I):
        return "any role"
    match = re.search(r"Roles?: ([^.]*)\.?\s*$", description)
    assert match, f"no roles in the description {description[-120:]!r}"
    return ", ".join(sorted(role.strip() for role in match.group(1).split(",")))


def served(document: dict[str, Any]) -> dict[Route, tuple[str, str]]:
    routes: dict[Route, tuple[str, str]] = {}
    for path, item in document["paths"].items():
        if not path.startswith(("/v1/", "/health")):
            continue  # the console's pages are not the API
        for method, operation in item.items():
            if method not in METHODS:
                continue
            codes = sorted(c for c in operation["responses"] if c.startswith("2") or c == "304")
            routes[(method, path)] = (roles_of(operation.get("description") or ""),
                                      ", ".join(codes))
    return routes


def test_docs_api_lists_every_served_route_with_its_roles_and_successes(
    client: TestClient[Any],
) -> None:
    response = client.get("/schema/openapi.json")
    assert response.status_code == 200
    actual = served(response.json())
    listed = documented(API_DOC.read_text(encoding="utf-8"))
    assert sorted(set(actual) - set(listed)) == [], "served but not in docs/api.md"
    assert sorted(set(listed) - set(actual)) == [], "in docs/api.md but not served"
    wrong = {route: (listed[route], actual[route]) for route in actual
             if listed[route] != actual[route]}
    assert wrong == {}, "docs/api.md (roles, successes) vs the app's"
