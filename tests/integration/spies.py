"""Test spies: which aggregates a store or repository was asked for."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest


def count_gets(monkeypatch: pytest.MonkeyPatch, owner: Any) -> list[UUID]:
    """From now on, the id of each call of ``owner.get`` (an event store or a repository)."""
    asked: list[UUID] = []
    get = owner.get

    def counting_get(*args: Any, **kwargs: Any) -> Any:
        asked.append(args[0] if args else kwargs.get("originator_id", kwargs.get("aggregate_id")))
        return get(*args, **kwargs)

    monkeypatch.setattr(owner, "get", counting_get)
    return asked
