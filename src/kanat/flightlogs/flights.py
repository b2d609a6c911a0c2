"""Flights from a log's standard series, one rule for every format (Django-free).

Which evidence decides, best first:

1. **Stated** (the CSV format): the flights as the file gives them.
2. **Land detector**: the autopilot's own landed / in-air state (PX4
   ``vehicle_land_detected.landed``; MAVLink ``EXTENDED_SYS_STATE.landed_state``; ArduPilot
   ``LAND_COMPLETE`` / ``NOT_LANDED`` / take-off events). Both it and the armed state are
   step functions (a value holds until the next sample, so periodic samples and events read
   alike); before its first sample the vehicle is on the ground. The vehicle is airborne
   while the detector says in the air *and* it is armed (a disarmed vehicle is on the
   ground: ArduPilot logs no landing when its crash check disarms). A flight is a maximal
   airborne stretch: take-off when it begins, landing when it ends.
3. **Armed + altitude** (logs without a land detector, e.g. old ArduPilot): inside each armed
   interval, the vehicle flew if its altitude rose more than ``CLIMB_M`` above the altitude at
   arming; take-off is the last sample before that at most ``GROUND_M`` above it, landing the
   first sample after the last such climb back within ``GROUND_M`` (else disarming).
4. **Armed** alone: each armed interval, with a warning that nothing told airborne from on
   the ground.

A flight under way when the log begins starts at the log's first instant, one still under
way when it ends lands at its last (both flagged). Each flight is one cycle.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from kanat.flightlogs.base import LogData, Series

I64 = npt.NDArray[np.int64]
B = npt.NDArray[np.bool_]

CLIMB_M = 2.0
GROUND_M = 0.5


@dataclass(frozen=True)
class FlightSpan:
    """One flight in log time (µs)."""

    takeoff: int
    landing: int
    cycles: int = 1
    #: already in the air at the log's first instant / still in the air at its last
    open_start: bool = False
    open_end: bool = False

    @property
    def airborne_us(self) -> int:
        return self.landing - self.takeoff


@dataclass(frozen=True)
class Extraction:
    flights: list[FlightSpan]
    rule: str  # "stated", "land detector", "armed + altitude", "armed", "none"
    warnings: list[str]


def extract(log: LogData) -> Extraction:
    """The flights of ``log`` by the best evidence it carries (see the module docstring)."""
    if log.stated_flights:
        origin = log.start_us or 0
        spans = [
            FlightSpan(f.takeoff_us - origin, f.landing_us - origin, f.cycles)
            for f in log.stated_flights
        ]
        return Extraction(spans, "stated", [])
    landed = _finite(log.landed)
    armed = _finite(log.armed)
    if len(landed) and bool((landed.v < 0.5).any()):
        return Extraction(_detector(landed, armed, log), "land detector", [])
    intervals = _armed_intervals(armed, log)
    altitude = _finite(log.altitude)
    if len(altitude) and intervals:
        return Extraction(_by_altitude(intervals, altitude, log), "armed + altitude", [])
    if intervals:
        note = "no land detector and no altitude in the log: each armed interval counts as a flight"
        return Extraction(
            [FlightSpan(a, b, 1, s, e) for a, b, s, e in intervals],
            "armed",
            [note],
        )
    if len(landed):
        return Extraction([], "land detector", [])
    return Extraction([], "none", [] if len(armed) else ["the log says neither armed nor landed"])


def _finite(s: Series) -> Series:
    if len(s) == 0:
        return s
    keep = np.isfinite(s.v) if s.v.ndim == 1 else np.isfinite(s.v).all(axis=1)
    return s if bool(keep.all()) else Series(s.t[keep], s.v[keep])


#: a log whose land detector says "in the air" at its first sample, this close to the log's
#: start, began in the air (later first samples are take-off events)
OPEN_START_US = 2_000_000


def _detector(landed: Series, armed: Series, log: LogData) -> list[FlightSpan]:
    """Airborne stretches: detector in the air and armed (both held between samples)."""
    times = np.unique(np.concatenate((landed.t, armed.t)))
    k = np.searchsorted(landed.t, times, side="right") - 1
    in_air = (k >= 0) & (landed.v[np.maximum(k, 0)] < 0.5)
    if len(armed):
        j = np.searchsorted(armed.t, times, side="right") - 1
        # before the first armed sample: as that sample says (logs start armed or not)
        in_air &= armed.v[np.maximum(j, 0)] >= 0.5
    # in the air at the detector's first sample, that close to the log's start: the log
    # began in the air; later, that first sample is a take-off
    began_in_air = int(landed.t[0]) - int(log.first_t) <= OPEN_START_US
    return _runs(times, in_air, log, began_in_air)


def _runs(t: I64, up: B, log: LogData, open_start: bool) -> list[FlightSpan]:
    """Maximal runs of ``up`` samples: from the first up sample to the first down sample
    after it (or the log's end). With ``open_start``, a run up from the first sample began
    before the log: it starts at the log's start, flagged. Empty runs are dropped."""
    edges = np.diff(up.astype(np.int8))
    starts = np.flatnonzero(edges == 1) + 1
    ends = np.flatnonzero(edges == -1) + 1
    from_start = bool(up[0])
    if from_start:
        starts = np.concatenate(([0], starts))
    spans = []
    for k, s in enumerate(starts.tolist()):
        first = from_start and k == 0 and open_start
        begin = int(t[s])
        if first and log.first_t < begin:
            begin = int(log.first_t)
        if k < ends.shape[0]:
            span = FlightSpan(begin, int(t[ends[k]]), 1, first, False)
        else:
            span = FlightSpan(begin, max(int(log.last_t), int(t[-1])), 1, first, True)
        if span.landing > span.takeoff:  # a run that begins at the last instant is none
            spans.append(span)
    return spans


def _armed_intervals(armed: Series, log: LogData) -> list[tuple[int, int, bool, bool]]:
    """(start, end, armed at the log's start, armed at its end) for each armed interval."""
    if len(armed) == 0:
        return []
    up = armed.v >= 0.5
    out = []
    began_armed = int(armed.t[0]) - int(log.first_t) <= OPEN_START_US
    for span in _runs(armed.t, up, log, began_armed):
        out.append((span.takeoff, span.landing, span.open_start, span.open_end))
    return out


def _by_altitude(
    intervals: list[tuple[int, int, bool, bool]], altitude: Series, log: LogData
) -> list[FlightSpan]:
    spans = []
    t, h = altitude.t, altitude.v
    for a, b, open_start, open_end in intervals:
        inside = np.flatnonzero((t >= a) & (t <= b))
        if inside.size == 0:
            continue
        hh = h[inside]
        ground = hh[0]
        high = np.flatnonzero(hh > ground + CLIMB_M)
        if high.size == 0:
            continue
        low = hh <= ground + GROUND_M
        before = np.flatnonzero(low[: high[0]])
        takeoff = int(t[inside[before[-1]]]) if before.size else a
        after = np.flatnonzero(low[high[-1] :])
        if after.size:
            landing, still = int(t[inside[high[-1] + after[0]]]), False
        else:
            landing, still = b, open_end
        spans.append(FlightSpan(takeoff, landing, 1, open_start and not before.size, still))
    return spans
