"""A minimal connection interface over sqlite3 and psycopg, so that the SQL of the
read-model store is written once (with ``?`` placeholders)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
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


class NestedTransactions:
    """``transaction()`` for a session: the outermost block begins and ends it,
    inner blocks join it. Subclasses set ``_begin`` and give ``_run(sql)``."""

    _begin: str
    _depth: int = 0

    def _run(self, sql: str) -> None:
        raise NotImplementedError

    def _can_roll_back(self) -> bool:
        return True

    @contextmanager
    def transaction(self) -> Iterator[None]:
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self._run(self._begin)
        self._depth = 1
        try:
            yield
        except BaseException:
            if self._can_roll_back():
                self._run("ROLLBACK")
            raise
        else:
            self._run("COMMIT")
        finally:
            self._depth = 0
