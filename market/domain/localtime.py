"""Beijing time: the zone every date is shown and every year is assigned in (POLICY.md interpretation 5).

Times are stored timezone-aware in UTC. A payment at 00:10 on 1 January Beijing time belongs to the new
year even though it is still 31 December in UTC; every "which year" question goes through here.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _aware(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None:
        raise ValueError("naive datetime has no place in Asia/Shanghai time")
    return moment


def to_local(moment: dt.datetime) -> dt.datetime:
    """``moment`` as Beijing wall-clock time."""
    return _aware(moment).astimezone(SHANGHAI)


def local_year(moment: dt.datetime) -> int:
    """The calendar year of ``moment`` in Beijing time."""
    return to_local(moment).year


def local_date(moment: dt.datetime) -> dt.date:
    """The calendar day of ``moment`` in Beijing time."""
    return to_local(moment).date()


def today(now: dt.datetime | None = None) -> dt.date:
    """Today in Beijing (``now`` injectable for tests)."""
    return local_date(now or dt.datetime.now(dt.UTC))


def day_start(day: dt.date) -> dt.datetime:
    """Midnight at the start of ``day`` in Beijing, as UTC."""
    return dt.datetime.combine(day, dt.time(), tzinfo=SHANGHAI).astimezone(dt.UTC)


def year_bounds(year: int) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of calendar year ``year`` in Beijing, as UTC: for ``start <= paid_at < end`` queries."""
    return day_start(dt.date(year, 1, 1)), day_start(dt.date(year + 1, 1, 1))


def localize(naive: dt.datetime) -> dt.datetime:
    """A wall-clock time typed by a user (no offset) read as Beijing time; aware values pass through."""
    return naive.replace(tzinfo=SHANGHAI) if naive.tzinfo is None else naive


def stamp(moment: dt.datetime | None) -> str:
    """``YYYY-MM-DD HH:MM`` in Beijing time, for exports and plain-text messages ('' for None)."""
    return to_local(moment).strftime("%Y-%m-%d %H:%M") if moment else ""
