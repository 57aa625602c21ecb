"""Fixtures of the end-to-end tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.careful_client import Servers


@pytest.fixture
def servers() -> Iterator[Servers]:
    """Every server process a test starts, stopped at its end whatever happened."""
    group = Servers()
    try:
        yield group
    finally:
        group.stop_all()
