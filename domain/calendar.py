"""Business days over public holidays and IANA time zones.

A region's business days are its country's working days according to the
``holidays`` package, reckoned in the region's own time zone: not the
country's weekend (Saturday-Sunday in the US, Friday-Saturday in Saudi Arabia
and Israel, Saturday-Sunday in the UAE since 2022 and Friday-Saturday before),
unless a weekend day was made a working day, and not a public holiday. Every
window of N business days ends at 23:59:59 local time of the Nth business day
after the local day on which it opened; a window that opens on a weekend or
holiday counts from the next business day (that day becomes the start day,
then N more business days follow). N = 0 therefore means the end of the start
day.

``window_end`` runs millions of times in a replay, so the days off are
cached as one frozenset per year (computed once, under a lock, because the
``holidays`` objects are not thread-safe while they expand) and window ends are
memoised per (local start day, N).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

__all__ = [
    "BusinessCalendar",
    "CalendarError",
    "calendar_for",
    "supported_countries",
    "validate_country",
    "validate_subdivision",
    "validate_timezone",
]

_END_OF_DAY = time(23, 59, 59)
_ONE_DAY = timedelta(days=1)
_WINDOW_CACHE_SIZE = 1 << 14  # ~45 years of start days x a few window sizes


class CalendarError(ValueError):
    """A calendar cannot be built or asked this question (bad input)."""


@functools.cache
def supported_countries() -> dict[str, tuple[str, ...]]:
    """Canonical country codes known to ``holidays`` and their subdivisions."""
    return {
        code: tuple(subdivisions)
        for code, subdivisions in holidays.list_supported_countries(include_aliases=False).items()
    }


@functools.cache
def _country_aliases() -> frozenset[str]:
    return frozenset(holidays.list_supported_countries(include_aliases=True)) - frozenset(
        supported_countries()
    )


def validate_country(country: object) -> str:
    """Return ``country`` if it is a canonical code known to ``holidays``."""
    if not isinstance(country, str):
        raise CalendarError(f"country must be a string such as 'US', got {country!r}")
    known = supported_countries()
    if country in known:
        return country
    hint = ""
    if country in _country_aliases():
        canonical = holidays.country_holidays(country).country
        hint = f"; {country!r} is an alias, use the code {canonical!r}"
    elif country.upper() in known:
        hint = f"; codes are upper case: did you mean {country.upper()!r}?"
    raise CalendarError(
        f"unknown country {country!r}: use an ISO 3166-1 alpha-2 code supported by "
        f"the holidays package (for example 'US', 'GB', 'TH'){hint}"
    )


def validate_timezone(key: object) -> ZoneInfo:
    """Return the ``ZoneInfo`` for an IANA key, or raise ``CalendarError``."""
    if not isinstance(key, str) or not key:
        raise CalendarError(
            f"time zone must be a non-empty IANA name such as 'America/Los_Angeles', got {key!r}"
        )
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise CalendarError(
            f"unknown time zone {key!r}: use an IANA name such as 'America/Los_Angeles', "
            "'Europe/London' or 'Asia/Bangkok' (names are case-sensitive)"
        ) from None


def validate_subdivision(country: str, subdivision: object) -> str | None:
    """Return ``subdivision`` if ``holidays`` knows it for ``country``."""
    if subdivision is None:
        return None
    known = supported_countries().get(country, ())
    if isinstance(subdivision, str) and subdivision in known:
        return subdivision
    if known:
        choices = ", ".join(known) if len(known) <= 20 else ", ".join(known[:20]) + ", ..."
        hint = f"valid codes for {country}: {choices}"
    else:
        hint = f"{country} has no subdivisions in the holidays package; leave it out"
    raise CalendarError(f"unknown holiday subdivision {subdivision!r} for {country}: {hint}")


class BusinessCalendar:
    """Business days of one country (optionally a subdivision) in one time zone."""

    country: str
    timezone: str
    subdivision: str | None
    tz: ZoneInfo

    def __init__(self, country: str, timezone: str, subdivision: str | None = None) -> None:
        self.country = validate_country(country)
        self.tz = validate_timezone(timezone)
        self.timezone = timezone
        self.subdivision = validate_subdivision(self.country, subdivision)
        self._lock = threading.Lock()
        self._holidays_by_year: dict[int, frozenset[date]] = {}
        self._days_off_by_year: dict[int, frozenset[date]] = {}
        # A per-instance memo (not lru_cache on the method, which would keep
        # every calendar alive through a class-level cache).
        self._window_end_local: Callable[[date, int], datetime] = functools.lru_cache(
            maxsize=_WINDOW_CACHE_SIZE
        )(self._compute_window_end)

    def __reduce__(self) -> tuple[Any, ...]:
        # Locks and memo caches do not pickle; rebuild (shared) from the key.
        return (calendar_for, (self.country, self.timezone, self.subdivision))

    def __repr__(self) -> str:
        subdivision = f", subdivision={self.subdivision!r}" if self.subdivision else ""
        return f"BusinessCalendar({self.country!r}, {self.timezone!r}{subdivision})"

    # -- holidays -------------------------------------------------------------

    def holidays_in(self, year: int) -> frozenset[date]:
        """The public holidays (observed days included) that fall in ``year``."""
        found = self._holidays_by_year.get(year)
        if found is None:
            self._expand(year)
            found = self._holidays_by_year[year]
        return found

    def days_off_in(self, year: int) -> frozenset[date]:
        """The days of ``year`` that are not business days: weekends and holidays."""
        found = self._days_off_by_year.get(year)
        if found is None:
            self._expand(year)
            found = self._days_off_by_year[year]
        return found

    def _expand(self, year: int) -> None:
        with self._lock:
            if year in self._days_off_by_year:
                return
            # Observed days can move across a year boundary (New Year's
            # Day observed on 31 December), so expand the neighbours too.
            # A fresh object per call: nothing shared is expanded lazily.
            years = [y for y in (year - 1, year, year + 1) if 1 <= y <= 9999]
            expanded = holidays.country_holidays(
                self.country, subdiv=self.subdivision, years=years
            )
            # ``is_working_day`` knows the weekend of that very date (a country
            # may move it, a subdivision may have its own) and weekend days made
            # working days; asking it per day keeps every such rule in holidays.
            first, last = date(year, 1, 1).toordinal(), date(year, 12, 31).toordinal()
            days_off = frozenset(
                day
                for day in map(date.fromordinal, range(first, last + 1))
                if not expanded.is_working_day(day)
            )
            self._holidays_by_year[year] = frozenset(d for d in expanded if d.year == year)
            self._days_off_by_year[year] = days_off

    def is_business_day(self, day: date) -> bool:
        """A working day of the country: neither its weekend nor a public holiday."""
        if isinstance(day, datetime):
            raise CalendarError(
                "is_business_day takes a date; use local_date() to turn an instant into one"
            )
        return self._is_business_day(day)

    def _is_business_day(self, day: date) -> bool:
        found = self._days_off_by_year.get(day.year)
        if found is None:
            found = self.days_off_in(day.year)
        return day not in found

    # -- time zone ------------------------------------------------------------

    def local_date(self, at: datetime) -> date:
        """The calendar day ``at`` falls on in this calendar's time zone."""
        if at.tzinfo is None or at.utcoffset() is None:
            raise CalendarError(
                f"naive datetime {at.isoformat()}: give an aware datetime "
                "(with a UTC offset or time zone)"
            )
        return at.astimezone(self.tz).date()

    def end_of_day(self, day: date) -> datetime:
        """23:59:59 local wall time on ``day``, aware, in this time zone.

        If 23:59:59 happens twice that day (a zone that falls back at
        midnight), the later reading is the end of the day (``fold=1``).
        """
        end = datetime.combine(day, _END_OF_DAY, tzinfo=self.tz)
        later = end.replace(fold=1)
        return later if later.utcoffset() != end.utcoffset() else end

    # -- windows --------------------------------------------------------------

    def next_business_day(self, day: date) -> date:
        """The first business day strictly after ``day``."""
        try:
            day += _ONE_DAY
            while not self._is_business_day(day):
                day += _ONE_DAY
        except OverflowError:
            raise CalendarError(
                "no business day before the end of the supported date range"
            ) from None
        return day

    def start_day(self, opened_at: datetime) -> date:
        """The business day a window opened at ``opened_at`` counts from."""
        day = self.local_date(opened_at)
        if self.is_business_day(day):
            return day
        return self.next_business_day(day)

    def window_end(self, opened_at: datetime, business_days: int) -> datetime:
        """End (23:59:59 local) of a window of ``business_days`` business days."""
        if opened_at.tzinfo is None or opened_at.utcoffset() is None:
            raise CalendarError(
                f"naive datetime {opened_at.isoformat()}: give an aware datetime "
                "(with a UTC offset or time zone)"
            )
        if type(business_days) is not int or business_days < 0:
            raise CalendarError(
                f"a window needs a whole number of business days >= 0, got {business_days!r}"
            )
        return self._window_end_local(opened_at.astimezone(self.tz).date(), business_days)

    def _compute_window_end(self, local_day: date, business_days: int) -> datetime:
        day = local_day if self._is_business_day(local_day) else self.next_business_day(local_day)
        for _ in range(business_days):
            day = self.next_business_day(day)
        return self.end_of_day(day)

    def business_days_between(self, start: date, end: date) -> int:
        """How many business days fall in ``(start, end]`` (0 if ``end <= start``)."""
        count = 0
        day = start + _ONE_DAY
        while day <= end:
            if self._is_business_day(day):
                count += 1
            day += _ONE_DAY
        return count


@functools.lru_cache(maxsize=256)
def calendar_for(country: str, timezone: str, subdivision: str | None = None) -> BusinessCalendar:
    """A shared calendar per (country, time zone, subdivision)."""
    return BusinessCalendar(country, timezone, subdivision)
