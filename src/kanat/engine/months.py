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

    Dates in a forecast span a few thousand distinct days and intervals a few dozen month
    counts, so the answer for every (day, months) pair in range is computed once into a
    small table and gathered per item; wide ranges fall back to the direct arithmetic."""
    days = np.asarray(days, dtype=np.int64)
    months = np.broadcast_to(np.asarray(months, dtype=np.int64), days.shape)
    if days.size < 64:
        return _add_months_direct(days, months)
    lo, hi = int(days.min()), int(days.max())
    m_lo, m_hi = int(months.min()), int(months.max())
    span_d, span_m = hi - lo + 1, m_hi - m_lo + 1
    if span_d * span_m > min(4 * days.size, 1 << 22):
        return _add_months_direct(days, months)
    grid_d = np.repeat(np.arange(lo, hi + 1, dtype=np.int64), span_m)
    grid_m = np.tile(np.arange(m_lo, m_hi + 1, dtype=np.int64), span_d)
    table = _add_months_direct(grid_d, grid_m)
    key = days * span_m
    key += months
    key -= lo * span_m + m_lo
    return table[key]


def _add_months_direct(days: I64, months: I64) -> I64:
    y, m, d = to_civil(days)
    total = y * 12 + (m - 1) + months
    ny = np.floor_divide(total, 12)
    nm = total - ny * 12 + 1
    return from_civil(ny, nm, np.minimum(d, month_length(ny, nm)))


def add_days(days: I64, n: I64) -> I64:
    return np.asarray(days, dtype=np.int64) + np.asarray(n, dtype=np.int64)
