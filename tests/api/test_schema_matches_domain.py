"""The API's enumerations are the domain's, never a drifting copy."""

from __future__ import annotations

from typing import get_args, get_type_hints

from domain.dispute import STATUSES
from domain.dispute.dues import BUYER, DUE_REASONS, SELLER
from interface.http.schemas import RefundDue, Status


def test_the_status_enumeration_is_the_domains() -> None:
    assert get_args(Status) == STATUSES



def test_the_refund_due_reasons_are_the_domains() -> None:
    hints = get_type_hints(RefundDue)
    assert get_args(hints["reason"]) == DUE_REASONS
    assert get_args(hints["payee"]) == (BUYER, SELLER)
