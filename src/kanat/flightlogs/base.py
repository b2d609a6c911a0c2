"""What every flight-log reader returns: a ``LogData`` of a few standard series.

Django-free. A reader (``ulog``, ``dataflash``, ``tlog``, ``csvlog``) streams its file and
keeps only the series below; flight extraction (``flights``) and exceedance checks
(``findings``) work on ``LogData`` alone, whatever the format, so the same rules apply to
every log and the reference parsers (pyulog, pymavlink) can be fed through them too.

Times are int64 microseconds of *log time* (the log's own monotonic clock, usually boot
time); ``LogData.start_us`` maps log time 0 to UTC when the log says so (GPS time, a ULog
``time_ref_utc``...).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]


class LogError(ValueError):
    """A file we cannot read: says what it looks like and which formats we read."""


FORMATS = ("ulog", "dataflash-bin", "dataflash-text", "tlog", "csv")


@dataclass(frozen=True)
class Series:
    """A sampled signal: ``t`` log-time µs (non-decreasing), ``v`` values (shape (n,) or
    (n, k) for vectors such as acceleration)."""

    t: I64
    v: F64

    @classmethod
    def empty(cls, width: int = 0) -> Series:
        shape: tuple[int, ...] = (0,) if width == 0 else (0, width)
        return cls(np.zeros(0, np.int64), np.zeros(shape))

    def __len__(self) -> int:
        return int(self.t.shape[0])


@dataclass(frozen=True)
class StatedFlight:
    """A flight a log states outright (the CSV format): instants in UTC µs."""

    takeoff_us: int
    landing_us: int
    cycles: int = 1


@dataclass
class LogData:
    """The standard series of one log. Any may be empty when the log does not carry it."""

    format: str
    #: UTC µs of log time 0, when the log gives wall-clock time; else None
    start_us: int | None = None
    #: first and last log-time µs seen in the file (the log's length)
    first_t: int = 0
    last_t: int = 0
    #: vehicle identity: ULog sys_uuid / ver_hw + serial, MAVLink system id, ...
    vehicle_id: str | None = None
    #: 1.0 armed, 0.0 disarmed, sampled whenever the log says
    armed: Series = field(default_factory=Series.empty)
    #: 1.0 landed, 0.0 airborne, from the autopilot's land detector (PX4 vehicle_land_detected,
    #: ArduPilot LAND_COMPLETE events / EXTENDED_SYS_STATE)
    landed: Series = field(default_factory=Series.empty)
    #: altitude above home / relative altitude, m (up positive)
    altitude: Series = field(default_factory=Series.empty)
    #: vertical speed, m/s, up positive
    climb: Series = field(default_factory=Series.empty)
    #: airspeed m/s (ground speed when no airspeed is logged; see ``speed_kind``)
    speed: Series = field(default_factory=Series.empty)
    speed_kind: str = ""
    #: body acceleration (n, 3) m/s^2, specific force as the IMU measures it
    accel: Series = field(default_factory=Series.empty)
    #: outside air temperature, degC
    temperature: Series = field(default_factory=Series.empty)
    #: battery voltage V and current A
    battery_v: Series = field(default_factory=Series.empty)
    battery_a: Series = field(default_factory=Series.empty)
    #: flights the log states outright (CSV), UTC µs
    stated_flights: list[StatedFlight] = field(default_factory=list)
    #: what was not readable: truncated tail, dropouts, unknown records...
    warnings: list[str] = field(default_factory=list)
    #: bytes read
    size: int = 0
