"""A generated history file (JSON Lines, the format ``disputedesk import`` reads).

Orders of 2025 in the US and GB, each with the facts of one of a few lives: shipped
on time (delivered, reviewed), shipped late, a buyer who contacted the seller
and got an answer, never shipped (auto-cancelled, then the refund paid), a refund
approved with a return, a refund denied, a case closed. Lines are sorted by
business time across orders, as an export of a platform's log would be, so an
order's lines are spread through the file. ``bad`` appends lines that must be
refused, one of each kind, and says which.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import IO, Any

START = datetime(2025, 2, 3, 17, 0, tzinfo=UTC)  # a Monday, 09:00 in Los Angeles
SPAN_DAYS = 240  # orders placed up to early October 2025
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
#: The lives an order may have, and how often.
LIVES = (
    ("on_time", 40), ("late", 12), ("contacted", 14), ("unshipped", 10),
    ("refund_return", 10), ("refund_denied", 7), ("closed", 7),
)
CURRENCY = {"US": "USD", "GB": "GBP"}
#: What the lines appended by ``bad`` are refused for.
BAD_REASONS = ("not JSON", "unknown type", "a field missing", "a fact the case refuses",
               "a time before the order's previous fact")


@dataclass
class History:
    lines: int = 0
    orders: int = 0
    #: Each order's life (see ``LIVES``).
    lives: dict[str, str] = field(default_factory=dict)
    #: Line numbers (1-based) of the lines that must be refused, and why.
    bad_lines: dict[int, str] = field(default_factory=dict)
    facts: int = 0


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _life(rng: random.Random, order_id: str, placed: datetime, life: str) -> list[dict[str, Any]]:
    region = "GB" if rng.random() < 0.25 else "US"
    amount = {"amount": f"{rng.randrange(5, 200)}.{rng.randrange(100):02d}",
              "currency": CURRENCY[region]}
    seller = f"s-{rng.randrange(60)}"
    lines: list[dict[str, Any]] = [{
        "type": "order", "order_id": order_id, "buyer_id": f"b-{rng.randrange(400)}",
        "seller_id": seller, "seller_name": f"Shop {seller}", "region": region,
        "category": rng.choice(("general", "electronics", "fashion")), "amount": amount,
        "placed_at": _iso(placed),
    }]

    def fact(kind: str, offset: timedelta, **fields: Any) -> None:
        lines.append({"type": kind, "order_id": order_id, "at": _iso(placed + offset), **fields})

    def ship(offset: timedelta) -> None:
        lines.append({"type": "shipment", "order_id": order_id, "carrier": "ups",
                      "tracking_number": f"1Z{rng.randrange(10**9)}",
                      "shipped_at": _iso(placed + offset)})

    def deliver(offset: timedelta) -> None:
        lines.append({"type": "delivery", "order_id": order_id,
                      "delivered_at": _iso(placed + offset)})

    if life == "unshipped":  # auto-cancelled (7 business days); the refund paid well after
        fact("refund_paid", 40 * DAY, amount=amount)
        return lines
    if life == "late":  # past ship_by (2 or 3 business days), before the auto-cancel
        ship(8 * DAY)
        deliver(11 * DAY)
        fact("review", 12 * DAY, rating=rng.randrange(1, 4), comment="late")
        return lines
    if life == "contacted":
        fact("seller_contact", 5 * HOUR, message="when will it ship?", channel="chat")
        fact("seller_response", 9 * HOUR, message="tomorrow")
        ship(20 * HOUR)
        deliver(3 * DAY)
        return lines
    ship(4 * HOUR)
    deliver(3 * DAY)
    if life == "on_time":
        fact("review", 5 * DAY, rating=rng.randrange(4, 6), comment="fine")
    elif life == "refund_return":
        fact("refund_request", 4 * DAY, reason="damaged")
        fact("refund_decision", 4 * DAY + 6 * HOUR, approve=True)
        fact("return_shipped", 5 * DAY, carrier="usps", tracking_number=f"9{rng.randrange(10**9)}")
        fact("return_received", 8 * DAY)
        fact("refund_paid", 9 * DAY, amount=amount)
    elif life == "refund_denied":
        fact("refund_request", 4 * DAY, reason="changed my mind",
             amount={"amount": "1.00", "currency": amount["currency"]})
        fact("refund_decision", 5 * DAY, approve=False, reason="not faulty")
        fact("review", 6 * DAY, rating=2, comment="no refund")
    elif life == "closed":
        fact("close", 20 * DAY, reason="completed")
    return lines


def generate(out: IO[bytes], orders: int, *, seed: int = 1, bad: bool = True,
             prefix: str = "h") -> History:
    """Write ``orders`` orders' facts to ``out``; the lines ``bad`` appends are listed."""
    rng = random.Random(seed)
    history = History(orders=orders)
    names, weights = zip(*LIVES, strict=True)
    dated: list[tuple[str, int, int, dict[str, Any]]] = []
    for n in range(orders):
        order_id = f"{prefix}-{n}"
        life = rng.choices(names, weights)[0]
        history.lives[order_id] = life
        placed = START + timedelta(seconds=rng.randrange(SPAN_DAYS * 86400))
        for step, line in enumerate(_life(rng, order_id, placed, life)):
            at = line.get("at") or line.get("placed_at") or line.get("shipped_at") or \
                line["delivered_at"]
            dated.append((at, n, step, line))
    dated.sort(key=lambda item: (datetime.fromisoformat(item[0]), item[1], item[2]))
    text = [json.dumps(line, separators=(",", ":")) for _, _, _, line in dated]
    history.facts = len(text)
    if bad and orders:
        first = f"{prefix}-0"
        placed_at = next(line["placed_at"] for _, _, _, line in dated
                         if line["order_id"] == first and line["type"] == "order")
        refused = [
            "{not json",
            json.dumps({"type": "teleport", "order_id": first, "at": placed_at}),
            json.dumps({"type": "shipment", "order_id": first, "tracking_number": "x",
                        "shipped_at": placed_at}),
            json.dumps({"type": "return_received", "order_id": first,
                        "at": "2025-12-31T00:00:00Z"}),
            json.dumps({"type": "seller_contact", "order_id": first, "message": "hello?",
                        "channel": "chat", "at": placed_at}),
        ]
        for reason, line in zip(BAD_REASONS, refused, strict=True):
            text.append(line)
            history.bad_lines[len(text)] = reason
    out.write(("\n".join(text) + "\n").encode())
    history.lines = len(text)
    return history
