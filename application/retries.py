"""How often, and how patiently, a writer that lost a race tries again."""

from __future__ import annotations

import random
import time

#: Attempts of one command before it answers ``Contention``.
MAX_ATTEMPTS = 50


def back_off(attempt: int) -> None:
    """Lost an optimistic-concurrency race: wait a little, growing, with jitter."""
    time.sleep(random.uniform(0, min(0.05, 0.001 * 2**attempt)))
