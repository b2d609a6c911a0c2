"""Calendar arithmetic on UTC dates held as int64 days since 1970-01-01 (vectorised)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

I64 = npt.NDArray[np.int64]


def add_months(days: I64, months: I64) -> I64:
    """Each date plus N months, keeping the day of month, clamped to the month's last day
    (31 Jan + 1 MO = 28/29 Feb)."""
    d = np.asarray(days, dtype=np.int64).astype("datetime64[D]")
    month_start = d.astype("datetime64[M]")
    day_of_month = (d - month_start.astype("datetime64[D]")).astype(np.int64)
    target = month_start + np.asarray(months, dtype=np.int64)
    month_len = ((target + 1).astype("datetime64[D]") - target.astype("datetime64[D]")).astype(
        np.int64
    )
    out = target.astype("datetime64[D]") + np.minimum(day_of_month, month_len - 1)
    return out.astype(np.int64)


def add_days(days: I64, n: I64) -> I64:
    return np.asarray(days, dtype=np.int64) + np.asarray(n, dtype=np.int64)
