"""A minimal connection interface over sqlite3 and psycopg, so that the SQL of the
read-model store is written once (with ``?`` placeholders)."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from infrastructure.stores.dialect import Dialect

Row = tuple[Any, ...]


class Session(Protocol):
    dialect: Dialect

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; returns the number of rows it changed."""
        ...

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...

    def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]: ...

    def transaction(self) -> AbstractContextManager[None]:
        """Writers: one write transaction. Readers: one consistent read snapshot."""
        ...
