"""The API's enumerations are the domain's, never a drifting copy."""

from __future__ import annotations

from typing import get_args

from domain.dispute import STATUSES
from interface.http.schemas import Status


def test_the_status_enumeration_is_the_domains() -> None:
    assert get_args(Status) == STATUSES
