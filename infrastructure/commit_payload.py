"""What an event-store commit's notification says: the cases it touched.

Written by the insert (``infrastructure/binary_insert.py``) and read by the
commit listener (``infrastructure/pg_commit_counter.py``), so the format lives
here once: the case ids joined by commas, or nothing for "any case".
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["MAX_NAMED", "cases_in", "payload_of"]

#: The most cases a notification names (its payload must stay under 8,000 bytes);
#: a transaction touching more names none, which readers take as "any case".
MAX_NAMED = 200


def payload_of(case_ids: Iterable[object]) -> str:
    """The payload naming these cases (each once); empty when there are too many."""
    cases = dict.fromkeys(str(case) for case in case_ids)
    return ",".join(cases) if len(cases) <= MAX_NAMED else ""


def cases_in(payload: str) -> list[str] | None:
    """The cases a payload names; None when it names none: any case may have changed."""
    return payload.split(",") if payload else None
