"""Exceedances: a log's series against an aircraft type's limits (Django-free).

Limits are data on the type (``Limits.from_mapping`` reads the JSON kept on it), never code.
Each stretch of samples beyond a limit is one finding, at its worst sample; hard landings are
judged at each touchdown the flight extraction found.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields

import numpy as np
import numpy.typing as npt

from kanat.flightlogs.base import LogData, Series
from kanat.flightlogs.flights import FlightSpan

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

G = 9.80665
#: the window before a touchdown in which the sink rate is judged, and around it the
#: acceleration peak (µs)
SINK_WINDOW_US = 2_000_000
IMPACT_BEFORE_US = 1_000_000
IMPACT_AFTER_US = 1_000_000


@dataclass(frozen=True)
class Limits:
    """An aircraft type's envelope and limits; None: not limited / not checked."""

    oat_min_c: float | None = None
    oat_max_c: float | None = None
    max_speed_ms: float | None = None
    hard_landing_accel_ms2: float | None = None  # peak |specific force| at touchdown
    hard_landing_sink_ms: float | None = None  # sink rate just before touchdown
    battery_min_v: float | None = None  # in flight
    battery_max_a: float | None = None

    @classmethod
    def from_mapping(cls, data: Mapping[str, object] | None) -> Limits:
        """From the JSON kept on an aircraft type; unknown keys are an error."""
        data = dict(data or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown limit(s) {', '.join(unknown)}; known: {sorted(known)}")
        values: dict[str, float | None] = {}
        for key, value in data.items():
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int | float)
            ):
                raise ValueError(f"limit {key} must be a number, not {value!r}")
            values[key] = None if value is None else float(value)
        return cls(**values)

    def as_dict(self) -> dict[str, float | None]:
        return asdict(self)


#: What `kanat flightlog summarize` checks when no type is named: the outside-air envelope
#: every type in the demo shares and conservative small-UAV touchdown limits (3 g, 3 m/s).
DEFAULT_LIMITS = Limits(
    oat_min_c=-54.0,
    oat_max_c=54.0,
    hard_landing_accel_ms2=3 * G,
    hard_landing_sink_ms=3.0,
)


FINDING_CODES = ("OAT_LOW", "OAT_HIGH", "OVERSPEED", "HARD_LANDING", "BATTERY_LOW", "OVERCURRENT")


@dataclass(frozen=True)
class Finding:
    code: str  # OAT_LOW, OAT_HIGH, OVERSPEED, HARD_LANDING, BATTERY_LOW, OVERCURRENT
    message: str
    t: int  # log time µs of the worst sample
    series: str  # which series, and ...
    sample: int  # ... the index of that sample in it
    value: float
    limit: float
    flight: int | None  # index of the flight it happened in, if any


def check(log: LogData, flights: list[FlightSpan], limits: Limits) -> list[Finding]:
    out: list[Finding] = []
    temp = log.temperature
    if limits.oat_min_c is not None:
        out += _beyond(
            temp,
            "temperature",
            -temp.v,
            -limits.oat_min_c,
            flights,
            "OAT_LOW",
            "outside air {v:.1f} °C below the type's {lim:.1f} °C",
            sign=-1,
        )
    if limits.oat_max_c is not None:
        out += _beyond(
            temp,
            "temperature",
            temp.v,
            limits.oat_max_c,
            flights,
            "OAT_HIGH",
            "outside air {v:.1f} °C above the type's {lim:.1f} °C",
        )
    if limits.max_speed_ms is not None:
        kind = log.speed_kind or "ground"
        out += _beyond(
            log.speed,
            "speed",
            log.speed.v,
            limits.max_speed_ms,
            flights,
            "OVERSPEED",
            f"{kind} speed {{v:.1f}} m/s above the type's {{lim:.1f}} m/s",
        )
    if limits.battery_min_v is not None:
        out += _beyond(
            log.battery_v,
            "battery_v",
            -log.battery_v.v,
            -limits.battery_min_v,
            flights,
            "BATTERY_LOW",
            "battery {v:.2f} V below {lim:.2f} V in flight",
            sign=-1,
            in_flight=True,
        )
    if limits.battery_max_a is not None:
        out += _beyond(
            log.battery_a,
            "battery_a",
            log.battery_a.v,
            limits.battery_max_a,
            flights,
            "OVERCURRENT",
            "battery current {v:.1f} A above {lim:.1f} A",
        )
    out += _hard_landings(log, flights, limits)
    out.sort(key=lambda f: (f.t, f.code))
    return out


def magnitude(accel: Series) -> F64:
    if len(accel) == 0:
        return np.zeros(0)
    v = accel.v if accel.v.ndim == 2 else accel.v[:, None]
    return np.sqrt(np.square(v).sum(axis=1))


def _flight_of(t: int, flights: list[FlightSpan]) -> int | None:
    for k, f in enumerate(flights):
        if f.takeoff <= t <= f.landing:
            return k
    return None


def _beyond(
    series: Series,
    name: str,
    score: F64,
    limit: float,
    flights: list[FlightSpan],
    code: str,
    text: str,
    *,
    sign: int = 1,
    in_flight: bool = False,
) -> list[Finding]:
    """One finding per stretch of samples with score > limit, at its worst sample."""
    if len(series) == 0:
        return []
    over = np.isfinite(score) & (score > limit)
    if in_flight:
        airborne = np.zeros(len(series), dtype=bool)
        for f in flights:
            airborne |= (series.t >= f.takeoff) & (series.t <= f.landing)
        over &= airborne
    if not bool(over.any()):
        return []
    edges = np.diff(np.concatenate(([0], over.astype(np.int8), [0])))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    out = []
    for s, e in zip(starts.tolist(), ends.tolist(), strict=True):
        k = s + int(np.argmax(score[s:e]))
        value = float(series.v[k])
        t = int(series.t[k])
        out.append(
            Finding(
                code,
                text.format(v=value, lim=sign * limit),
                t,
                name,
                k,
                value,
                sign * limit,
                _flight_of(t, flights),
            )
        )
    return out


def _descended(log: LogData, landing: int, sink_ms: float) -> bool:
    """Whether the altitude confirms a descent before touchdown of at least half a second at
    the sink-rate limit (a climb-rate estimate alone can diverge: ArduCopter 3.1 logs
    -41.8 m/s standing still). Without altitude the climb rate is taken as it is."""
    alt = log.altitude
    if len(alt) == 0:
        return True
    w = np.flatnonzero((alt.t >= landing - SINK_WINDOW_US) & (alt.t <= landing))
    h = alt.v[w]
    h = h[np.isfinite(h)]
    return h.size >= 2 and float(h.max() - h[-1]) >= 0.5 * sink_ms


def _hard_landings(log: LogData, flights: list[FlightSpan], limits: Limits) -> list[Finding]:
    out = []
    acc = magnitude(log.accel)
    for k, f in enumerate(flights):
        if f.open_end:
            continue  # no touchdown in the log
        found: Finding | None = None
        if limits.hard_landing_accel_ms2 is not None and acc.size:
            w = np.flatnonzero(
                (log.accel.t >= f.landing - IMPACT_BEFORE_US)
                & (log.accel.t <= f.landing + IMPACT_AFTER_US)
            )
            if w.size:
                j = int(w[np.nanargmax(acc[w])]) if np.isfinite(acc[w]).any() else -1
                if j >= 0 and acc[j] > limits.hard_landing_accel_ms2:
                    found = Finding(
                        "HARD_LANDING",
                        f"touchdown acceleration {acc[j]:.1f} m/s² ({acc[j] / G:.1f} g) above "
                        f"{limits.hard_landing_accel_ms2:.1f} m/s²",
                        int(log.accel.t[j]),
                        "accel",
                        j,
                        float(acc[j]),
                        limits.hard_landing_accel_ms2,
                        k,
                    )
        if (
            found is None
            and limits.hard_landing_sink_ms is not None
            and len(log.climb)
            and _descended(log, f.landing, limits.hard_landing_sink_ms)
        ):
            w = np.flatnonzero(
                (log.climb.t >= f.landing - SINK_WINDOW_US) & (log.climb.t <= f.landing)
            )
            sink = -log.climb.v[w]
            if w.size and np.isfinite(sink).any():
                j = int(w[np.nanargmax(sink)])
                if -log.climb.v[j] > limits.hard_landing_sink_ms:
                    found = Finding(
                        "HARD_LANDING",
                        f"sink rate {-log.climb.v[j]:.1f} m/s before touchdown above "
                        f"{limits.hard_landing_sink_ms:.1f} m/s",
                        int(log.climb.t[j]),
                        "climb",
                        j,
                        float(-log.climb.v[j]),
                        limits.hard_landing_sink_ms,
                        k,
                    )
        if found is not None:
            out.append(found)
    return out
