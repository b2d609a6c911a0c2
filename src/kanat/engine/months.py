"""Calendar arithmetic on UTC dates held as int64 days since 1970-01-01 (vectorised).

Integer civil-calendar conversions (proleptic Gregorian), so adding months to millions
of dates costs a few dozen integer operations each.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

I64 = npt.NDArray[np.int64]

_MONTH_DAYS = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)


def to_civil(days: I64) -> tuple[I64, I64, I64]:
    """Days since 1970-01-01 -> (year, month 1-12, day 1-31)."""
    z = np.asarray(days, dtype=np.int64) + 719468
    era = np.floor_divide(z, 146097)
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = np.where(mp < 10, mp + 3, mp - 9)
    return y + (m <= 2), m, d


def from_civil(y: I64, m: I64, d: I64) -> I64:
    """(year, month, day) -> days since 1970-01-01."""
    y = y - (m <= 2)
    era = np.floor_divide(y, 400)
    yoe = y - era * 400
    mp = np.where(m > 2, m - 3, m + 9)
    doy = (153 * mp + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def month_length(y: I64, m: I64) -> I64:
    leap = ((y % 4 == 0) & (y % 100 != 0)) | (y % 400 == 0)
    return _MONTH_DAYS[m - 1] + ((m == 2) & leap)


def add_months(days: I64, months: I64) -> I64:
    """Each date plus N months, keeping the day of month, clamped to the month's last day
    (31 Jan + 1 MO = 28/29 Feb).

    Dates from 1900 to 2299 (every date a forecast meets) are looked up in two tables
    built once: per day its month number and day of month, per month its first day and
    length; the answer is then a few gathers and additions. Other dates take the direct
    integer arithmetic."""
    days = np.asarray(days, dtype=np.int64)
    months = np.broadcast_to(np.asarray(months, dtype=np.int64), days.shape)
    if days.size < 64:
        return _add_months_direct(days, months)
    t = _tables()
    k = days - t.first_day
    if int(k.min()) < 0 or int(k.max()) >= t.month_of.shape[0]:
        return _add_months_direct(days, months)
    target = t.month_of[k] + months
    if int(target.min()) < 0 or int(target.max()) >= t.month_start.shape[0]:
        return _add_months_direct(days, months)
    out = np.minimum(t.day_of[k], t.month_len[target])
    out += t.month_start[target]
    return out


class _Tables:
    """Per day of 1900-01-01 .. 2299-12-31: its month (0 = Jan 1900) and day of month
    minus one; per month: its first day (days since 1970) and its length minus one."""

    def __init__(self) -> None:
        y = np.repeat(np.arange(1900, 2300, dtype=np.int64), 12)
        m = np.tile(np.arange(1, 13, dtype=np.int64), 400)
        self.month_start = from_civil(y, m, np.ones_like(y))
        self.month_len = month_length(y, m) - 1
        self.first_day = int(self.month_start[0])
        n_days = int(from_civil(np.array([2300]), np.array([1]), np.array([1]))[0])
        n_days -= self.first_day
        self.month_of = np.repeat(np.arange(y.shape[0], dtype=np.int32), self.month_len + 1)
        assert self.month_of.shape[0] == n_days
        day_of = np.arange(n_days, dtype=np.int64) - (
            self.month_start[self.month_of] - self.first_day
        )
        self.day_of = day_of.astype(np.int32)


_TABLES: _Tables | None = None


def _tables() -> _Tables:
    global _TABLES
    if _TABLES is None:
        _TABLES = _Tables()
    return _TABLES


def _add_months_direct(days: I64, months: I64) -> I64:
    y, m, d = to_civil(days)
    total = y * 12 + (m - 1) + months
    ny = np.floor_divide(total, 12)
    nm = total - ny * 12 + 1
    return from_civil(ny, nm, np.minimum(d, month_length(ny, nm)))


def add_days(days: I64, n: I64) -> I64:
    return np.asarray(days, dtype=np.int64) + np.asarray(n, dtype=np.int64)
