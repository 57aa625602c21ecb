"""Each country's own weekend, as the ``holidays`` package knows it, ends windows.

2026-11-18 is a Wednesday; no public holiday falls in the week after it in any
country below, so only the weekend decides where a window ends.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import holidays
import pytest

from domain.calendar import BusinessCalendar, calendar_for
from domain.policy import Policy

RIYADH = ZoneInfo("Asia/Riyadh")
JERUSALEM = ZoneInfo("Asia/Jerusalem")
DUBAI = ZoneInfo("Asia/Dubai")
LA = ZoneInfo("America/Los_Angeles")


def at(zone: ZoneInfo, year: int, month: int, day: int, hour: int = 10) -> datetime:
    return datetime(year, month, day, hour, tzinfo=zone)


def end_of(zone: ZoneInfo, year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, 23, 59, 59, tzinfo=zone)


def sa() -> BusinessCalendar:
    return calendar_for("SA", "Asia/Riyadh")


def il() -> BusinessCalendar:
    return calendar_for("IL", "Asia/Jerusalem")


def ae() -> BusinessCalendar:
    return calendar_for("AE", "Asia/Dubai")


def us() -> BusinessCalendar:
    return calendar_for("US", "America/Los_Angeles")


def test_given_saudi_arabia_when_two_day_window_from_wednesday_then_friday_saturday_skipped(
) -> None:
    # Wednesday 18th, then Thursday 19th (1); Friday and Saturday are the weekend.
    assert sa().window_end(at(RIYADH, 2026, 11, 18), 2) == end_of(RIYADH, 2026, 11, 22)


def test_given_saudi_arabia_when_ordered_on_friday_then_counts_from_sunday() -> None:
    assert sa().window_end(at(RIYADH, 2026, 11, 20), 0) == end_of(RIYADH, 2026, 11, 22)
    assert sa().is_business_day(date(2026, 11, 22))  # Sunday: a working day there
    assert not sa().is_business_day(date(2026, 11, 20))  # Friday
    assert not sa().is_business_day(date(2026, 11, 21))  # Saturday


def test_given_israel_when_two_day_window_from_wednesday_then_ends_sunday_night() -> None:
    assert il().window_end(at(JERUSALEM, 2026, 11, 18), 2) == end_of(JERUSALEM, 2026, 11, 22)
    assert il().window_end(at(JERUSALEM, 2026, 11, 18), 3) == end_of(JERUSALEM, 2026, 11, 23)


def test_given_uae_when_its_weekend_moved_in_2022_then_each_date_uses_its_own() -> None:
    # Friday-Saturday until 2021, Saturday-Sunday from 1 January 2022.
    assert not ae().is_business_day(date(2021, 12, 24))  # Friday
    assert ae().is_business_day(date(2021, 12, 26))  # Sunday
    assert ae().is_business_day(date(2022, 12, 23))  # Friday
    assert not ae().is_business_day(date(2022, 12, 25))  # Sunday
    # Wed 29th, Thu 30th (1), Fri 31st (2021 weekend), Sat 1st and Sun 2nd (2022
    # weekend, New Year's Day too), Mon 3rd (2).
    assert ae().window_end(at(DUBAI, 2021, 12, 29), 2) == end_of(DUBAI, 2022, 1, 3)


def test_given_us_when_two_day_window_from_the_same_wednesday_then_still_saturday_sunday(
) -> None:
    assert us().window_end(at(LA, 2026, 11, 18), 2) == end_of(LA, 2026, 11, 20)  # Friday
    assert us().window_end(at(LA, 2026, 11, 18), 3) == end_of(LA, 2026, 11, 23)  # Monday
    assert us().is_business_day(date(2026, 11, 20))
    assert not us().is_business_day(date(2026, 11, 22))


def test_given_a_policy_region_in_saudi_arabia_when_order_deadlines_then_its_weekend() -> None:
    base = calendar_policy()
    policy = base.with_changes({"regions.SA.timezone": "Asia/Riyadh", "version": "with-sa"})

    ship_by, auto_cancel_at = policy.order_deadlines("SA", "general", at(RIYADH, 2026, 11, 18))

    assert ship_by == end_of(RIYADH, 2026, 11, 22)  # 2 business days: Thursday, Sunday
    # 7 business days: Thu 19, Sun 22 ... Thu 26, Sun 29.
    assert auto_cancel_at == end_of(RIYADH, 2026, 11, 29)
    assert policy.order_deadlines("US", "general", at(LA, 2026, 11, 18))[0] == end_of(
        LA, 2026, 11, 20
    )


@pytest.mark.parametrize(
    ("country", "zone"),
    [("SA", "Asia/Riyadh"), ("IL", "Asia/Jerusalem"), ("AE", "Asia/Dubai"), ("US", "UTC")],
)
def test_business_days_are_the_working_days_of_holidays(country: str, zone: str) -> None:
    calendar = calendar_for(country, zone)
    reference = holidays.country_holidays(country, years=range(2020, 2028))
    day = date(2021, 1, 1)
    while day < date(2027, 1, 1):
        assert calendar.is_business_day(day) == reference.is_working_day(day), day
        day += timedelta(days=1)


def calendar_policy() -> Policy:
    return Policy.from_document(
        {
            "version": "weekends",
            "effective_from": "2026-01-01T00:00:00Z",
            "defaults": {
                "ship_within_business_days": 2,
                "auto_cancel_after_business_days": 7,
                "seller_response_business_days": 2,
                "refund_response_business_days": 2,
                "review_window_days": 60,
                "return_shipping_payer": "seller",
            },
            "regions": {"US": {"timezone": "America/Los_Angeles"}},
            "categories": {"general": {}},
        }
    )
