"""Small interfaces the application depends on; infrastructure implements them."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class Clock(Protocol):
    """The only way anything reads the time."""

    def now(self) -> datetime: ...
