"""The few ways SQLite and PostgreSQL SQL differ for the read-model store."""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

_IDENTIFIER = re.compile(r"^[a-z][a-z0-9_]{0,40}$")


def identifier(name: str) -> str:
    """Table-name parts are generated, but check them anyway: they are spliced into SQL."""
    if not _IDENTIFIER.match(name):
        raise ValueError(f"not a safe identifier: {name!r}")
    return name


@dataclass(frozen=True)
class Dialect:
    name: str
    blob: str
    without_rowid: str

    def in_list(self, column: str, values: Collection[Any]) -> tuple[str, list[Any]]:
        """``column`` is one of ``values``, as SQL text with ``?`` placeholders."""
        if self.name == "postgres":
            return f"{column} = ANY(?)", [list(values)]
        return f"{column} IN ({','.join('?' * len(values))})", list(values)


SQLITE = Dialect(name="sqlite", blob="BLOB", without_rowid=" WITHOUT ROWID")
POSTGRES = Dialect(name="postgres", blob="BYTEA", without_rowid="")
