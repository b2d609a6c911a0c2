"""Instants as int64 microseconds since the Unix epoch, UTC.

The core works on integers so that sums of airborne time are exact and
comparisons of instants are cheap. Conversions live here and nowhere else.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

UTC = dt.UTC
EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)
ONE_US = dt.timedelta(microseconds=1)
US_PER_HOUR = 3_600_000_000
US_PER_DAY = 86_400_000_000
#: An open end of an interval (``removed_at`` null): later than any real instant.
OPEN_END = np.iinfo(np.int64).max


def to_us(value: dt.datetime) -> int:
    """An aware datetime as integer microseconds since the epoch (exact)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value!r}: instants must carry a time zone")
    return (value - EPOCH) // ONE_US


def from_us(value: int) -> dt.datetime:
    """Integer microseconds since the epoch as an aware UTC datetime."""
    return EPOCH + dt.timedelta(microseconds=int(value))


def day_start_us(day: dt.date) -> int:
    """00:00 UTC of a date, in microseconds since the epoch."""
    return to_us(dt.datetime(day.year, day.month, day.day, tzinfo=UTC))


def utc_date(value_us: int) -> dt.date:
    """The UTC date of an instant given in microseconds."""
    return from_us(value_us).date()
