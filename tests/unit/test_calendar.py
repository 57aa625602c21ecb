"""Business calendar: business days over holidays and time zones."""

from __future__ import annotations

import pickle
import threading
import time as timer
from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.calendar import BusinessCalendar, CalendarError, calendar_for

LA = ZoneInfo("America/Los_Angeles")
LONDON = ZoneInfo("Europe/London")
BANGKOK = ZoneInfo("Asia/Bangkok")

REGIONS = {
    "US": ("US", "America/Los_Angeles", None),
    "GB": ("GB", "Europe/London", "ENG"),
    "TH": ("TH", "Asia/Bangkok", None),
}


def us() -> BusinessCalendar:
    return calendar_for("US", "America/Los_Angeles")


def gb(subdivision: str = "ENG") -> BusinessCalendar:
    return calendar_for("GB", "Europe/London", subdivision)


def th() -> BusinessCalendar:
    return calendar_for("TH", "Asia/Bangkok")


def at(
    zone: ZoneInfo, year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=zone)


def offset(hours: int) -> timezone:
    return timezone(timedelta(hours=hours))


# -- the design's examples ----------------------------------------------------


def test_given_us_order_placed_friday_when_two_day_window_then_ends_tuesday_night() -> None:
    placed = at(LA, 2026, 11, 20, 10, 0)

    end = us().window_end(placed, 2)

    assert end == datetime(2026, 11, 24, 23, 59, 59, tzinfo=offset(-8))
    assert end.tzinfo is LA


def test_given_us_order_placed_friday_when_seven_day_window_then_thanksgiving_is_skipped() -> None:
    placed = at(LA, 2026, 11, 20, 10, 0)

    end = us().window_end(placed, 7)

    assert end == datetime(2026, 12, 2, 23, 59, 59, tzinfo=offset(-8))


def test_given_an_instant_in_utc_when_window_computed_then_local_day_decides() -> None:
    # 2026-11-21T05:00Z is still Friday 21:00 in Los Angeles.
    placed = datetime(2026, 11, 21, 5, 0, tzinfo=UTC)

    assert us().local_date(placed) == date(2026, 11, 20)
    assert us().window_end(placed, 2) == datetime(2026, 11, 24, 23, 59, 59, tzinfo=offset(-8))


def test_given_saturday_placement_when_window_computed_then_counts_from_monday() -> None:
    placed = at(LA, 2026, 11, 21, 10, 0)

    assert us().window_end(placed, 0) == at(LA, 2026, 11, 23, 23, 59, 59)
    assert us().window_end(placed, 2) == at(LA, 2026, 11, 25, 23, 59, 59)


def test_given_holiday_placement_when_window_computed_then_counts_from_next_business_day() -> None:
    thanksgiving = at(LA, 2026, 11, 26, 9, 0)

    assert us().window_end(thanksgiving, 0) == at(LA, 2026, 11, 27, 23, 59, 59)
    assert us().window_end(thanksgiving, 1) == at(LA, 2026, 11, 30, 23, 59, 59)


def test_given_business_day_when_zero_day_window_then_ends_same_night() -> None:
    placed = at(LA, 2026, 11, 20, 0, 0)

    assert us().window_end(placed, 0) == at(LA, 2026, 11, 20, 23, 59, 59)


def test_given_window_crossing_spring_forward_when_computed_then_offset_is_daylight_time() -> None:
    # DST starts in the US on Sunday 2026-03-08.
    placed = at(LA, 2026, 3, 6, 10, 0)

    end = us().window_end(placed, 2)

    assert end == datetime(2026, 3, 10, 23, 59, 59, tzinfo=offset(-7))
    assert end.utcoffset() == timedelta(hours=-7)
    assert end.astimezone(UTC) == datetime(2026, 3, 11, 6, 59, 59, tzinfo=UTC)


def test_given_window_crossing_fall_back_when_computed_then_offset_is_standard_time() -> None:
    # DST ends in the US on Sunday 2026-11-01.
    placed = at(LA, 2026, 10, 30, 10, 0)

    end = us().window_end(placed, 2)

    assert end == datetime(2026, 11, 3, 23, 59, 59, tzinfo=offset(-8))


def test_given_gb_order_before_christmas_when_window_computed_then_bank_holidays_skipped() -> None:
    # Christmas Friday 25th, Boxing Day Saturday 26th observed Monday 28th.
    placed = at(LONDON, 2026, 12, 23, 10, 0)

    end = gb().window_end(placed, 3)

    assert end == datetime(2026, 12, 30, 23, 59, 59, tzinfo=UTC)


def test_given_gb_summer_when_window_computed_then_ends_in_british_summer_time() -> None:
    placed = at(LONDON, 2026, 7, 31, 10, 0)

    end = gb("ENG").window_end(placed, 3)

    assert end == datetime(2026, 8, 5, 23, 59, 59, tzinfo=offset(1))


def test_given_scotland_when_window_over_first_monday_of_august_then_its_holiday_skipped() -> None:
    placed = at(LONDON, 2026, 7, 31, 10, 0)

    assert gb("SCT").window_end(placed, 3) == datetime(2026, 8, 6, 23, 59, 59, tzinfo=offset(1))
    assert not gb("SCT").is_business_day(date(2026, 8, 3))
    assert gb("ENG").is_business_day(date(2026, 8, 3))
    assert not gb("ENG").is_business_day(date(2026, 8, 31))


def test_given_th_order_before_songkran_when_window_computed_then_festival_skipped() -> None:
    # Songkran: Monday 13th to Wednesday 15th April 2026.
    placed = at(BANGKOK, 2026, 4, 10, 10, 0)

    end = th().window_end(placed, 2)

    assert end == datetime(2026, 4, 17, 23, 59, 59, tzinfo=offset(7))


def test_given_th_friday_evening_utc_when_already_saturday_in_bangkok_then_counts_later() -> None:
    placed = datetime(2026, 4, 10, 20, 0, tzinfo=UTC)  # Saturday 03:00 in Bangkok

    assert th().local_date(placed) == date(2026, 4, 11)
    assert th().window_end(placed, 2) == datetime(2026, 4, 20, 23, 59, 59, tzinfo=offset(7))


# -- business days ------------------------------------------------------------


def test_given_weekends_and_holidays_when_asked_then_not_business_days() -> None:
    assert us().is_business_day(date(2026, 11, 20))  # Friday
    assert not us().is_business_day(date(2026, 11, 21))  # Saturday
    assert not us().is_business_day(date(2026, 11, 22))  # Sunday
    assert not us().is_business_day(date(2026, 11, 26))  # Thanksgiving
    assert not gb().is_business_day(date(2026, 12, 28))  # Boxing Day (observed)
    assert not th().is_business_day(date(2026, 4, 14))  # Songkran


def test_given_holiday_observed_in_previous_year_when_asked_then_not_a_business_day() -> None:
    # New Year's Day 2022 fell on a Saturday and was observed on Friday 2021-12-31.
    assert not us().is_business_day(date(2021, 12, 31))


def test_given_a_datetime_when_asking_is_business_day_then_error() -> None:
    with pytest.raises(CalendarError, match="local_date"):
        us().is_business_day(at(LA, 2026, 11, 20, 10, 0))


def test_given_friday_and_tuesday_when_counting_business_days_then_two() -> None:
    assert us().business_days_between(date(2026, 11, 20), date(2026, 11, 24)) == 2
    assert us().business_days_between(date(2026, 11, 20), date(2026, 12, 2)) == 7
    assert us().business_days_between(date(2026, 11, 24), date(2026, 11, 20)) == 0
    assert us().business_days_between(date(2026, 11, 20), date(2026, 11, 20)) == 0


def test_given_a_day_when_end_of_day_then_last_second_local_and_aware() -> None:
    end = gb().end_of_day(date(2026, 6, 1))

    assert end == datetime(2026, 6, 1, 23, 59, 59, tzinfo=offset(1))
    assert end.tzinfo is LONDON
    assert end.fold == 0


# -- errors -------------------------------------------------------------------


def test_given_naive_datetime_when_window_or_local_date_then_calendar_error() -> None:
    naive = datetime(2026, 11, 20, 10, 0)

    with pytest.raises(CalendarError, match="naive"):
        us().window_end(naive, 2)
    with pytest.raises(CalendarError, match="naive"):
        us().local_date(naive)


@pytest.mark.parametrize("days", [-1, True, 2.0])
def test_given_bad_day_count_when_window_then_calendar_error(days: object) -> None:
    with pytest.raises(CalendarError, match="business days"):
        us().window_end(at(LA, 2026, 11, 20, 10, 0), days)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("XX", "UTC"), "unknown country 'XX'"),
        (("us", "UTC"), "did you mean 'US'"),
        (("UK", "Europe/London"), "use the code 'GB'"),
        (("US", "Mars/Olympus_Mons"), "unknown time zone"),
        (("US", "america/los_angeles"), "case-sensitive"),
        (("US", ""), "time zone"),
        (("US", "../etc/passwd"), "unknown time zone"),
        (("GB", "Europe/London", "XYZ"), "ENG, NIR, SCT, WLS"),
        (("TH", "Asia/Bangkok", "ENG"), "no subdivisions"),
    ],
)
def test_given_bad_calendar_arguments_when_built_then_actionable_error(
    args: tuple[str, ...], message: str
) -> None:
    with pytest.raises(CalendarError, match=message) as raised:
        BusinessCalendar(*args)
    assert isinstance(raised.value, ValueError)


# -- sharing, caching, threads -------------------------------------------------


def test_given_same_arguments_when_calendar_for_then_same_shared_instance() -> None:
    assert calendar_for("US", "America/Los_Angeles") is calendar_for("US", "America/Los_Angeles")
    assert calendar_for("GB", "Europe/London", "ENG") is not calendar_for(
        "GB", "Europe/London", "SCT"
    )


def test_given_calendar_when_pickled_then_comes_back_as_shared_instance() -> None:
    assert pickle.loads(pickle.dumps(gb())) is gb()


def test_given_many_threads_when_expanding_new_years_then_same_holidays() -> None:
    calendar = BusinessCalendar("US", "America/New_York")
    results: list[frozenset[date]] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            results.append(frozenset().union(*(calendar.holidays_in(y) for y in range(2030, 2040))))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not errors
    assert len(set(results)) == 1
    assert date(2035, 11, 22) in results[0]  # Thanksgiving 2035


def test_given_warm_calendar_when_many_window_ends_then_fast() -> None:
    calendar = us()
    start = datetime(2026, 1, 1, tzinfo=UTC)
    instants = [start + timedelta(minutes=37 * i) for i in range(20_000)]
    for instant in instants:
        calendar.window_end(instant, 7)

    began = timer.perf_counter()
    for instant in instants:
        calendar.window_end(instant, 7)
    per_call = (timer.perf_counter() - began) / len(instants)

    assert per_call < 25e-6  # typically about 1 µs; generous for slow CI machines


# -- properties ------------------------------------------------------------------

_REFERENCE = {
    name: holidays.country_holidays(country, subdiv=subdivision, years=range(2019, 2038))
    for name, (country, _tz, subdivision) in REGIONS.items()
}


def _reference_is_business_day(region: str, day: date) -> bool:
    return day.weekday() < 5 and day not in _REFERENCE[region]


instants = st.datetimes(
    min_value=datetime(2020, 1, 1),
    max_value=datetime(2035, 12, 31, 23, 59, 59),
    timezones=st.sampled_from([UTC, LA, LONDON, BANGKOK, timezone(timedelta(hours=5, minutes=30))]),
)
windows = st.integers(min_value=1, max_value=15)
regions = pytest.mark.parametrize("region", sorted(REGIONS))
fast = settings(max_examples=200, deadline=None)


def _calendar(region: str) -> BusinessCalendar:
    return calendar_for(*REGIONS[region])


@regions
@fast
@given(opened_at=instants, n=windows)
def test_property_window_end_is_the_nth_business_day_after_the_start_day(
    region: str, opened_at: datetime, n: int
) -> None:
    calendar = _calendar(region)

    end = calendar.window_end(opened_at, n)

    local_end = end.astimezone(calendar.tz)
    assert local_end.time() == time(23, 59, 59)
    assert _reference_is_business_day(region, local_end.date())
    assert end > opened_at
    start = opened_at.astimezone(calendar.tz).date()
    while not _reference_is_business_day(region, start):
        start += timedelta(days=1)
    counted = sum(
        _reference_is_business_day(region, start + timedelta(days=offset))
        for offset in range(1, (local_end.date() - start).days + 1)
    )
    assert counted == n
    assert calendar.business_days_between(start, local_end.date()) == n


@regions
@fast
@given(first=instants, second=instants, n=windows)
def test_property_window_end_is_monotonic_in_opened_at(
    region: str, first: datetime, second: datetime, n: int
) -> None:
    calendar = _calendar(region)
    earlier, later = sorted((first, second))

    assert calendar.window_end(earlier, n) <= calendar.window_end(later, n)


@regions
@fast
@given(opened_at=instants, n=windows)
def test_property_window_end_is_strictly_monotonic_in_n(
    region: str, opened_at: datetime, n: int
) -> None:
    calendar = _calendar(region)

    assert calendar.window_end(opened_at, n - 1) < calendar.window_end(opened_at, n)


@regions
@fast
@given(opened_at=instants, n=windows)
def test_property_memoised_result_equals_a_fresh_calendar(
    region: str, opened_at: datetime, n: int
) -> None:
    fresh = BusinessCalendar(*REGIONS[region])

    assert _calendar(region).window_end(opened_at, n) == fresh.window_end(opened_at, n)
