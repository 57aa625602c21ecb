"""Reason codes: the policy's catalogue of why a moderator decides as they do.

A document lists them under ``reason_codes``, one table per code::

    [reason_codes.not_shipped_in_time]
    text = "The seller did not ship your order by its shipping deadline."
    outcomes = ["refund_full", "refund_partial"]

``text`` is what the buyer and the seller are shown; ``outcomes`` are the
rulings the code may justify. A ruling (and an appeal decision) names a code
of the catalogue of the policy in force when it is made, and records the code's
text with it. A document without ``reason_codes`` has an empty catalogue: no
ruling can be made while it is in force.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from domain.errors import InvalidInput
from domain.outcomes import OUTCOMES

REASON_CODE_KEYS = ("text", "outcomes")
#: Codes are short words a moderator types and a client filters by.
REASON_CODE = re.compile(r"[a-z0-9_]{1,64}")
MAX_REASON_TEXT = 500


class UnknownReasonCode(InvalidInput):
    code = "unknown-reason-code"


class ReasonDoesNotJustify(InvalidInput):
    code = "reason-code-does-not-justify-outcome"


@dataclass(frozen=True, slots=True)
class ReasonCode:
    code: str
    #: What the buyer and the seller are shown.
    text: str
    #: The outcomes this code may justify.
    outcomes: tuple[str, ...]

    def justifies(self, outcome: str) -> bool:
        return outcome in self.outcomes

    def check_justifies(self, outcome: str) -> ReasonCode:
        """This code, if it may justify ``outcome``; else a 422 naming ``reason_code``."""
        if not self.justifies(outcome):
            raise ReasonDoesNotJustify(
                f"reason code {self.code!r} justifies {', '.join(self.outcomes)}, "
                f"not {outcome}",
                field="reason_code",
            )
        return self

    def to_document(self) -> dict[str, Any]:
        return {"text": self.text, "outcomes": list(self.outcomes)}


@dataclass(frozen=True)
class ReasonCodes:
    """The catalogue, in the document's order."""

    by_code: Mapping[str, ReasonCode] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_code", MappingProxyType(dict(self.by_code)))

    def __hash__(self) -> int:
        return hash(tuple(self.by_code.values()))

    def __iter__(self) -> Iterator[ReasonCode]:
        return iter(self.by_code.values())

    def __len__(self) -> int:
        return len(self.by_code)

    def get(self, code: str) -> ReasonCode:
        """The code, or a 422 naming ``reason_code`` that lists the known ones."""
        found = self.by_code.get(code) if isinstance(code, str) else None
        if found is None:
            known = ", ".join(self.by_code) or "none"
            raise UnknownReasonCode(
                f"unknown reason code {code!r}; the policy in force lists: {known}",
                field="reason_code",
            )
        return found

    def to_document(self) -> dict[str, Any]:
        return {code: reason.to_document() for code, reason in self.by_code.items()}

    @classmethod
    def of(cls, *reasons: ReasonCode) -> ReasonCodes:
        return cls({reason.code: reason for reason in reasons})


NO_REASON_CODES = ReasonCodes()


def reason_code_problems(doc: object) -> list[str]:
    """Every problem of a ``reason_codes`` table, each named by its key path."""
    if not isinstance(doc, Mapping):
        return [f"reason_codes: must be a table of codes, got {type(doc).__name__}"]
    problems: list[str] = []
    for code, entry in doc.items():
        path = f"reason_codes.{code}"
        if not isinstance(code, str) or not REASON_CODE.fullmatch(code):
            problems.append(f"{path}: codes use only a-z, 0-9 and _ (at most 64)")
        if not isinstance(entry, Mapping):
            problems.append(f"{path}: must be a table with text and outcomes")
            continue
        for key in entry:
            if key not in REASON_CODE_KEYS:
                problems.append(f"{path}.{key}: unknown key (allowed: text, outcomes)")
        text = entry.get("text")
        if not isinstance(text, str) or not text.strip():
            problems.append(f"{path}.text: required, the text the parties are shown")
        elif len(text) > MAX_REASON_TEXT or not text.isprintable():
            problems.append(
                f"{path}.text: at most {MAX_REASON_TEXT} printable characters on one line"
            )
        outcomes = entry.get("outcomes")
        if not isinstance(outcomes, list | tuple) or not outcomes:
            problems.append(
                f"{path}.outcomes: required, a non-empty list of {', '.join(OUTCOMES)}"
            )
            continue
        unknown = [str(o) for o in outcomes if o not in OUTCOMES]
        if unknown:
            problems.append(
                f"{path}.outcomes: unknown outcome {', '.join(unknown)} "
                f"(allowed: {', '.join(OUTCOMES)})"
            )
        elif len(set(outcomes)) != len(outcomes):
            problems.append(f"{path}.outcomes: names an outcome twice")
    return problems


def reason_codes_from(doc: Mapping[str, Any]) -> ReasonCodes:
    """A checked ``reason_codes`` table (see :func:`reason_code_problems`)."""
    return ReasonCodes.of(
        *(
            ReasonCode(code, entry["text"].strip(), tuple(entry["outcomes"]))
            for code, entry in doc.items()
        )
    )
