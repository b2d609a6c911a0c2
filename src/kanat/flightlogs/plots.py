"""Series for plots: down-sampled so a page stays light, peaks kept (Django-free)."""

from __future__ import annotations

from typing import Any

import numpy as np

from kanat.flightlogs.base import LogData, Series
from kanat.flightlogs.findings import magnitude

MAX_POINTS = 1200


def decimate(
    t: np.ndarray, v: np.ndarray, max_points: int = MAX_POINTS
) -> tuple[list[float], list[float]]:
    """At most ``max_points`` points: per bucket of samples, its minimum and maximum in
    time order (so spikes survive)."""
    keep = np.isfinite(v)
    t, v = t[keep], v[keep]
    n = t.shape[0]
    if n <= max_points:
        return t.tolist(), v.tolist()
    buckets = max_points // 2
    edges = np.linspace(0, n, buckets + 1).astype(np.int64)
    idx: list[int] = []
    for lo, hi in zip(edges[:-1].tolist(), edges[1:].tolist(), strict=True):
        if hi <= lo:
            continue
        a = lo + int(np.argmin(v[lo:hi]))
        b = lo + int(np.argmax(v[lo:hi]))
        idx.extend(sorted({a, b}))
    sel = np.array(idx, dtype=np.int64)
    return t[sel].tolist(), v[sel].tolist()


def plot_data(log: LogData) -> dict[str, Any]:
    """{name: {"unit", "t": [s from the log's start], "v": [...]}} for altitude, speed,
    acceleration magnitude and temperature (those the log has)."""
    first = log.first_t
    out: dict[str, Any] = {}
    series: list[tuple[str, str, Series, np.ndarray]] = [
        ("altitude", "m", log.altitude, log.altitude.v),
        ("speed", f"m/s ({log.speed_kind or 'ground'})", log.speed, log.speed.v),
        ("acceleration", "m/s²", log.accel, magnitude(log.accel)),
        ("temperature", "°C", log.temperature, log.temperature.v),
    ]
    for name, unit, s, values in series:
        if len(s) == 0:
            continue
        t, v = decimate((s.t - first) / 1e6, np.asarray(values, dtype=np.float64))
        if t:
            out[name] = {"unit": unit, "t": t, "v": v}
    return out
