"""ArduPilot DataFlash logs, binary (``.bin``) and text (``.log``), read into :class:`LogData`.

Django-free. The file is streamed in chunks (``chunk_size`` bytes, never the whole file in
memory); only a few record types are decoded, each in bulk with numpy.

Binary: records are ``0xA3 0x95 type payload``; payload lengths and layouts come from the FMT
records (type 128, 89 bytes), multipliers from FMTU/MULT where the log has them. Per chunk we
list every ``A3 95`` whose type has a known FMT, then keep the records a sequential reader
would: from the first candidate, jump over each record's length; a candidate that does not
sit where the previous record ends (an ``A3 95`` inside a payload) is passed over, and when a
record ends on something that is not a record start (corruption, unknown type) we resync on
the next candidate and count the bytes skipped (a warning). A truncated last record is a
warning too. FMT records may come anywhere (modern firmware writes them lazily); one that
redefines a type differently splits the chunk there.

Text: lines ``NAME, v1, v2, ...`` with ``FMT`` lines giving the columns (a chunk's FMT lines
are read before its other lines). A compiled tokenizer (``_textscan``: numba, imported only
when a text log is read) locates and names the lines and parses the value fields of the kept
record types straight into float64 columns. Its numbers take an exact fast path (the value
``float()`` gives); a line with any other field goes to a Python slow path that reads it as
numpy's text parser does (``np.fromstring``: every field of the line must be a number, extra
ones too; ``NaN`` fields are fine). Lines that do not parse are dropped and counted, as are
lines with too few fields. Values of the scaled types (c, e, L...) are already scaled in text
logs.

Log time (µs):
    * ``TimeUS`` (µs) or ``TimeMS`` (ms) when it is a record's first column (not for ACC*/GYR*
      TimeMS, a sensor clock), GPS ``T`` (ms since boot, 3.1-era) and ``TIME.StartTime``
      (PX4 sdlog2) are the boot clock.
    * A record without one (EV, MODE... in 3.x; everything but GPS in 3.0) takes the time of
      the nearest preceding timed record (binary: any record; text: the decoded records),
      records before the first timed one take its time (what pymavlink does).
    * Old firmware (ArduCopter 3.0 and before) has no boot clock at all, only GPS time of
      week (``GPS.Time``, ms): log time is then the GPS time of week (µs, unwrapped over week
      roll-overs); the other records are placed by counting the log's most frequent untimed
      record type (CTUN/ATT, logged at a fixed rate), interpolating between GPS records and
      extrapolating at the mean rate before the first fix and after the last one. There is
      no GPS week there, so ``start_us`` is None.
    * No clock at all: every sample at t=0, with a warning.

``first_t``/``last_t``: the earliest and latest boot-clock time among the first and last
timed record of every chunk and the decoded records (GPS-only logs: of the first and last
record).

``start_us`` (UTC of log time 0): median over the primary GPS records with a 3D fix of GPS
week + ms (``GWk``/``GMS``, 3.1-era ``Week``/``TimeMS``) converted to UTC (leap seconds
applied) minus the record's log time; PX4 sdlog2 ``GPS.GPSTime`` (UTC µs) likewise.

Series kept (primary instance: ``I``/``Instance``/``Inst`` column == 0 where the record has
one, else the unnumbered record, e.g. IMU not IMU2; BARO/ARSP records whose ``Health``/``H``
flag is 0 and GPS records without a 3D fix are left out):
    * ``armed``: EV ARMED (10) → 1 / DISARMED (11) → 0 (Copter, Rover, Plane >= 3.x), ARM
      ArmState (4.1+), STAT Armed (ArduPlane), STAT ArmS (PX4 sdlog2, 2/3 = armed); all
      present sources merged in time order.
    * ``landed``: EV LAND_COMPLETE (18) → 1, NOT_LANDED (28) and TAKEOFF (16, 3.0-3.2) → 0;
      LAND_COMPLETE_MAYBE (17) is not used (its "no longer maybe" is never logged, so it
      would leave a flying vehicle landed); ArduCopter 2.x used 17/28 for altitude events,
      so only 18/16 count there. ArduPlane STAT isFlying (landed = not flying), sdlog2 STAT
      Landed. Merged in time order.
    * ``altitude`` (m): BARO Alt (baro altitude above the boot-time ground level, 3.2+, all
      vehicles), else CTUN BarAlt/BAlt (ArduCopter 3.0/3.1, same quantity), else GPS RelAlt.
    * ``climb`` (m/s): BARO CRt, else CTUN CRt/CRate (3.x: the inertial-nav climb rate,
      cm/s integers).
    * ``speed``: ARSP Airspeed (``speed_kind`` "air"), else GPS Spd ("ground").
    * ``accel`` (n, 3) m/s²: IMU AccX/AccY/AccZ of the first IMU.
    * ``temperature`` (°C): ARSP Temp (airspeed sensor, outside air), else BARO Temp (the
      barometer, inside the autopilot: warmer than the air).
    * ``battery_v``/``battery_a``: BAT Volt/Curr, else CURR Volt/Curr (3.x: cV/cA integers),
      else sdlog2 BATT V/C.
    * ``vehicle_id``: the board serial line the firmware logs at boot as a MSG (e.g.
      ``"PX4v2 26002600 0A473234 33353231"``, board name + 96-bit unique id), else
      ``"mavlink-sysid-N"`` from PARM SYSID_THISMAV (same form as the tlog reader's).

Integer fields are scaled by their FMTU multiplier when the log has FMTU; without FMTU the
legacy centi-unit integers (CURR Volt/Curr, CTUN CRt/CRate) are divided by 100.
"""

from __future__ import annotations

import bisect
import io
import os
import re
import warnings
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from kanat.flightlogs.base import F64, I64, LogData, LogError, Series

U8 = npt.NDArray[np.uint8]

HEAD1, HEAD2 = 0xA3, 0x95
FMT_TYPE = 0x80
FMT_LEN = 89
MAX_RECORD = 256  # a binary record is at most 255 bytes
PAD = 16
_NO_TIME = -1

#: DataFlash format character -> (numpy dtype, the format's own scale)
_CHARS: dict[str, tuple[str, float]] = {
    "a": ("(32,)<i2", 1.0),
    "b": ("i1", 1.0),
    "B": ("u1", 1.0),
    "h": ("<i2", 1.0),
    "H": ("<u2", 1.0),
    "i": ("<i4", 1.0),
    "I": ("<u4", 1.0),
    "f": ("<f4", 1.0),
    "d": ("<f8", 1.0),
    "g": ("<f2", 1.0),
    "n": ("S4", 1.0),
    "N": ("S16", 1.0),
    "Z": ("S64", 1.0),
    "c": ("<i2", 0.01),
    "C": ("<u2", 0.01),
    "e": ("<i4", 0.01),
    "E": ("<u4", 0.01),
    "L": ("<i4", 1e-7),
    "M": ("u1", 1.0),
    "q": ("<i8", 1.0),
    "Q": ("<u8", 1.0),
}
_SIZES = {ch: np.dtype(spec[0]).itemsize for ch, spec in _CHARS.items()}
_SELF_SCALED = "cCeEL"
_INTEGER = "bBhHiIqQM"
_NOT_NUMBER_IN_TEXT = "nNZMa"  # text logs print these as words

#: record name -> the columns we read, whichever the version has
KEEP: dict[str, tuple[str, ...]] = {
    "EV": ("Id",),
    "ARM": ("ArmState",),
    "STAT": ("Armed", "isFlying", "ArmS", "Landed"),
    "BARO": ("Alt", "CRt", "Temp", "Health", "H"),
    "CTUN": ("BarAlt", "BAlt", "CRt", "CRate"),
    "GPS": ("Status", "Spd", "RelAlt", "GWk", "GMS", "Week", "TimeMS", "Time", "GPSTime"),
    "ARSP": ("Airspeed", "Temp", "Health", "H"),
    "IMU": ("AccX", "AccY", "AccZ"),
    "BAT": ("Volt", "Curr"),
    "CURR": ("Volt", "Curr"),
    "BATT": ("V", "C"),
}
#: records decoded one by one (few): messages, parameters, units
_WORDY = ("MSG", "PARM", "FMTU", "MULT")
_INSTANCE_COLUMNS = ("I", "Instance", "Inst")
_SYSID = b"SYSID_THISMAV"
_SYSID_U8 = np.frombuffer(_SYSID, np.uint8)
#: centi-unit integer fields of logs without FMTU
_LEGACY_CENTI = {("CURR", "Volt"), ("CURR", "Curr"), ("CTUN", "CRt"), ("CTUN", "CRate")}
#: types never used as the clock of GPS-only logs
_NOT_CLOCK = {"FMT", "FMTU", "UNIT", "MULT", "PARM", "MSG", "GPS", "GPS2", "EV", "MODE", "CMD"}

EV_ARMED, EV_DISARMED = 10, 11
EV_TAKEOFF, EV_LAND_COMPLETE, EV_NOT_LANDED = 16, 18, 28

_NAME_RE = re.compile(r"^[A-Za-z0-9_]{1,4}$")
_BOARD_RE = re.compile(r"^\s*([A-Za-z][\w\-.]*)\s+((?:[0-9A-Fa-f]{8}\s*){3})$")
_VERSION_RE = re.compile(r"\b(Ardu\w+|APM:\w+|Ardu)\s+V(\d+)\.(\d+)")

# --- GPS time -> UTC ------------------------------------------------------------------------
GPS_EPOCH_UNIX_S = 315_964_800
WEEK_US = 7 * 86_400 * 1_000_000
#: UTC unix seconds at which each leap second took effect since the GPS epoch (GPS-UTC 1..18)
_LEAPS_UTC_S = np.array(
    [
        362_793_600,  # 1981-07-01
        394_329_600,
        425_865_600,
        489_024_000,
        567_993_600,
        631_152_000,
        662_688_000,
        709_948_800,
        741_484_800,
        773_020_800,
        820_454_400,
        867_715_200,
        915_148_800,
        1_136_073_600,
        1_230_768_000,
        1_341_100_800,
        1_435_708_800,
        1_483_228_800,  # 2017-01-01
    ],
    dtype=np.int64,
)
_LEAPS_GPS_US = (_LEAPS_UTC_S + np.arange(1, len(_LEAPS_UTC_S) + 1)) * 1_000_000


def gps_to_utc_us(week: npt.ArrayLike, ms: npt.ArrayLike) -> I64:
    """UTC µs since 1970 of GPS week + ms of week (leap seconds applied)."""
    gps = (
        GPS_EPOCH_UNIX_S * 1_000_000
        + np.asarray(week, np.int64) * WEEK_US
        + np.round(np.asarray(ms, np.float64) * 1000).astype(np.int64)
    )
    leaps = np.searchsorted(_LEAPS_GPS_US, gps, side="right")
    return gps - leaps.astype(np.int64) * 1_000_000


# --- record chains -------------------------------------------------------------------------


def greedy_chain(starts: I64, ends: I64) -> I64:
    """Indices of the records a sequential reader keeps.

    ``starts`` (ascending) are candidate record starts, ``ends`` their ends. From the first
    candidate, the next record is the first candidate at or after the current one's end:
    candidates inside a record are passed over, a gap (corruption) resyncs on the next
    candidate. Done in runs: where each candidate's successor is simply the next candidate
    the walk is contiguous, so only the breaks (a few per chunk) are walked in Python.
    """
    n = len(starts)
    if n == 0:
        return np.zeros(0, np.int64)
    # mostly a record ends where the next candidate starts: search only the others
    odd = np.flatnonzero(ends[:-1] != starts[1:])
    odd = np.append(odd, n - 1)
    succ = np.arange(1, n + 1, dtype=np.int64)
    succ[odd] = np.searchsorted(starts, ends[odd], side="left")
    brk: list[int] = odd[succ[odd] != odd + 1].tolist()
    if not brk or brk[-1] != n - 1:
        brk.append(n - 1)
    runs: list[tuple[int, int]] = []
    j = 0
    while j < n:
        r = brk[bisect.bisect_left(brk, j)]
        runs.append((j, r))
        j = int(succ[r])
    if len(runs) == 1:
        a, b = runs[0]
        return np.arange(a, b + 1, dtype=np.int64)
    lo = np.array([a for a, _ in runs], np.int64)
    hi = np.array([b for _, b in runs], np.int64)
    lens = hi - lo + 1
    return np.repeat(lo - np.cumsum(lens) + lens, lens) + np.arange(int(lens.sum()))


def rows_at(arr: U8, pos: I64, width: int) -> U8:
    """``arr[p:p+width]`` for every p in ``pos`` as an (n, width) array (one gather)."""
    if len(pos) == 0 or width <= 0:
        return np.zeros((len(pos), max(width, 0)), np.uint8)
    view = np.lib.stride_tricks.as_strided(
        arr, shape=(len(arr) - width + 1, width), strides=(1, 1), writeable=False
    )
    return view[pos]


def items_at(arr: U8, pos: I64, dtype: npt.DTypeLike) -> npt.NDArray[np.void]:
    """The ``dtype`` item starting at each byte offset in ``pos`` (unaligned, one gather)."""
    dt = np.dtype(dtype)
    if len(arr) < dt.itemsize:
        return np.zeros(len(pos), dt)
    view: npt.NDArray[np.void] = np.ndarray(
        shape=(len(arr) - dt.itemsize + 1,), dtype=dt, buffer=arr, strides=(1,)
    )
    return view[pos]


# --- formats ---------------------------------------------------------------------------------


@dataclass
class _Fmt:
    """One record type as its FMT defines it."""

    name: str
    length: int
    fmt: str
    columns: list[str]
    size: int  # payload bytes from the format (<= length - 3)
    offsets: list[int]
    decodable: bool
    time_col: int = -1  # boot clock column
    time_us: int = 0  # µs per unit of the clock column
    tow_col: int = -1  # GPS ms of week, when there is no boot clock

    @classmethod
    def make(cls, name: str, length: int, fmt: str, columns: list[str]) -> _Fmt:
        offsets: list[int] = []
        size = 0
        decodable = True
        for ch in fmt:
            spec = _CHARS.get(ch)
            if spec is None:
                decodable = False
                break
            offsets.append(size)
            size += _SIZES[ch]
        if len(columns) != len(fmt):
            decodable = False
        f = cls(name, length, fmt, columns, size, offsets, decodable)
        f._find_clock()
        return f

    def _find_clock(self) -> None:
        cols, name = self.columns, self.name
        if not self.decodable or not cols:
            return
        if cols[0] == "TimeUS":
            self.time_col, self.time_us = 0, 1
        elif cols[0] == "TimeMS" and not name.startswith(("ACC", "GYR")):
            self.time_col, self.time_us = 0, 1000
        elif name.startswith("GPS") and "T" in cols:
            self.time_col, self.time_us = cols.index("T"), 1000
        elif name == "TIME" and "StartTime" in cols:
            self.time_col, self.time_us = cols.index("StartTime"), 1
        if self.time_col >= 0 and self.fmt[self.time_col] not in "IQiq":
            self.time_col, self.time_us = -1, 0
        if name == "GPS" and self.time_col < 0:
            if "Time" in cols and self.fmt[cols.index("Time")] in "IiQq":
                self.tow_col = cols.index("Time")
            elif "TimeMS" in cols and "Week" in cols and self.fmt[cols.index("TimeMS")] in "IiQq":
                self.tow_col = cols.index("TimeMS")

    def is_number(self, col: str) -> bool:
        """Is ``col`` a column holding one number?"""
        return col in self.columns and self.fmt[self.columns.index(col)] not in "nNZa"

    def same(self, other: _Fmt) -> bool:
        return (self.name, self.length, self.fmt, self.columns) == (
            other.name,
            other.length,
            other.fmt,
            other.columns,
        )

    def numeric_dtype(self, cols: list[str]) -> np.dtype[np.void]:
        """Structured dtype of the payload with just ``cols``."""
        idx = [self.columns.index(c) for c in cols]
        return np.dtype(
            {
                "names": cols,
                "formats": [_CHARS[self.fmt[i]][0] for i in idx],
                "offsets": [self.offsets[i] for i in idx],
                "itemsize": self.size,
            }
        )


def _parse_fmt_body(body: bytes) -> tuple[int, _Fmt] | None:
    """An FMT record's payload (86 bytes) -> (type, format), None when it is not one."""
    if len(body) < FMT_LEN - 3:
        return None
    try:
        name = body[2:6].split(b"\0")[0].decode("ascii")
        fmt = body[6:22].split(b"\0")[0].decode("ascii")
        cols_s = body[22:86].split(b"\0")[0].decode("ascii")
    except UnicodeDecodeError:
        return None
    return _checked_fmt(body[0], body[1], name, fmt, cols_s)


def _checked_fmt(
    type_: int, length: int, name: str, fmt: str, cols_s: str
) -> tuple[int, _Fmt] | None:
    if not _NAME_RE.match(name) or not fmt.isalpha() and fmt != "":
        return None
    if not cols_s.isprintable():
        return None
    columns = [c.strip() for c in cols_s.split(",")] if cols_s.strip() else []
    f = _Fmt.make(name, length, fmt, columns)
    if length < 3 or length > 255 or (f.decodable and f.size + 3 > length):
        return None
    if not f.decodable and len(columns) != len(fmt):
        return None
    return type_, f


# --- collecting ------------------------------------------------------------------------------


@dataclass
class _Rows:
    """Decoded rows of one kept record type, in chunks."""

    t: list[I64] = field(default_factory=list)
    g: list[I64] = field(default_factory=list)
    cols: dict[str, list[F64]] = field(default_factory=dict)

    def add(self, t: I64, g: I64, cols: dict[str, F64]) -> None:
        if len(t) == 0:
            return
        self.t.append(t)
        self.g.append(g)
        for k, v in cols.items():
            self.cols.setdefault(k, []).append(v)

    def column(self, name: str) -> F64 | None:
        parts = self.cols.get(name)
        if parts is None or sum(len(p) for p in parts) != sum(len(p) for p in self.t):
            return None
        return np.concatenate(parts).astype(np.float64)


class _Collector:
    """What both readers gather: kept rows, the clock, messages, parameters, warnings."""

    def __init__(self) -> None:
        self.rows: dict[str, _Rows] = {}
        self.fmts: dict[str, _Fmt] = {}  # by name, latest definition
        self.fmtu: dict[str, str] = {}  # name -> MultIds
        self.mult: dict[str, float] = {}
        self.msgs: list[str] = []
        self.params: dict[str, float] = {}
        self.header_lines: list[str] = []
        self.warnings: list[str] = []
        # clock
        self.boot_seen = False
        self.first_boot_t = -1
        self.carry_t = _NO_TIME
        self.tmin: int | None = None
        self.tmax: int | None = None
        self.nrec = 0
        self.order: list[npt.NDArray[np.int32]] = []  # record type ids while no boot clock
        self.type_names: dict[int, str] = {}
        # damage
        self.skipped = 0
        self.skip_places = 0
        self.bad_lines = 0
        self.unknown_lines = 0

    def rows_of(self, name: str) -> _Rows:
        r = self.rows.get(name)
        if r is None:
            r = self.rows[name] = _Rows()
        return r

    def clock(self, rt: I64, want: npt.NDArray[np.intp] | None = None) -> I64:
        """Feed the boot-clock times of a chunk's records (-1 untimed, in record order); get
        the times at ``want`` (all records by default), untimed ones taking the time of the
        nearest preceding timed record (-1 before any)."""
        carry = self.carry_t
        timed = np.flatnonzero(rt >= 0)
        if len(timed):
            tt = rt[timed]
            if not self.boot_seen:
                self.boot_seen = True
                self.first_boot_t = int(tt[0])
                self.order.clear()
            lo, hi = int(tt.min()), int(tt.max())
            self.tmin = lo if self.tmin is None else min(self.tmin, lo)
            self.tmax = hi if self.tmax is None else max(self.tmax, hi)
            self.carry_t = int(tt[-1])
        idx = np.arange(len(rt)) if want is None else want
        if not len(timed):
            return np.full(len(idx), carry, np.int64)
        j = np.searchsorted(timed, idx, side="right") - 1
        return np.where(j >= 0, rt[timed[np.maximum(j, 0)]], carry).astype(np.int64)

    def note_times(self, first: int, last: int) -> None:
        """A chunk's first and last boot-clock times (in record order)."""
        if not self.boot_seen:
            self.boot_seen = True
            self.first_boot_t = first
            self.order.clear()
        self.extremes(min(first, last), max(first, last))
        self.carry_t = last

    def extremes(self, lo: int, hi: int) -> None:
        self.tmin = lo if self.tmin is None else min(self.tmin, lo)
        self.tmax = hi if self.tmax is None else max(self.tmax, hi)

    def skip(self, nbytes: int, places: int = 1) -> None:
        if nbytes > 0:
            self.skipped += nbytes
            self.skip_places += places

    # --- the end: times, series --------------------------------------------------------------

    def _resolve_times(self) -> tuple[dict[str, I64], int, int]:
        """Final log times of every kept record type, and the log's first/last time."""
        times: dict[str, I64] = {}
        if self.boot_seen:
            for name, r in self.rows.items():
                t = np.concatenate(r.t) if r.t else np.zeros(0, np.int64)
                times[name] = np.where(t < 0, self.first_boot_t, t)
            return times, int(self.tmin or 0), int(self.tmax or 0)

        gps = self.rows.get("GPS")
        gps_fmt = self.fmts.get("GPS")
        tow = gps.column("_tow") if gps is not None else None
        order = np.concatenate(self.order) if self.order else np.zeros(0, np.int32)
        if gps is None or tow is None or gps_fmt is None or len(tow) == 0 or len(order) == 0:
            if self.rows:
                self.warnings.append("no timestamps in the log: every sample is at log time 0")
            for name, r in self.rows.items():
                times[name] = np.zeros(sum(len(x) for x in r.t), np.int64)
            return times, 0, 0

        # GPS time of week is the only clock: place the other records by counting a
        # periodic record type between GPS records
        tow_us = np.round(tow * 1000).astype(np.int64)
        jumps = np.diff(tow_us) < -WEEK_US // 2
        if jumps.any():
            tow_us = tow_us + np.concatenate([[0], np.cumsum(jumps)]).astype(np.int64) * WEEK_US
        counts = np.bincount(order, minlength=max(self.type_names, default=0) + 1)
        for tid, name in self.type_names.items():
            if name in _NOT_CLOCK and tid < len(counts):
                counts[tid] = 0
        ref = int(np.argmax(counts))
        key = np.cumsum(order == ref)
        g_gps = np.concatenate(gps.g)
        ka = key[np.clip(g_gps, 0, len(key) - 1)].astype(np.float64)
        ka, first = np.unique(ka, return_index=True)
        ta = tow_us[first].astype(np.float64)

        def place(k: npt.NDArray[np.float64]) -> I64:
            if len(ka) == 1 or ka[-1] == ka[0]:
                return np.full(len(k), int(ta[0]), np.int64)
            rate = (ta[-1] - ta[0]) / (ka[-1] - ka[0])
            out = np.interp(k, ka, ta)
            out = np.where(k < ka[0], ta[0] + (k - ka[0]) * rate, out)
            out = np.where(k > ka[-1], ta[-1] + (k - ka[-1]) * rate, out)
            return np.round(out).astype(np.int64)

        for name, r in self.rows.items():
            if name == "GPS":
                times[name] = tow_us
                continue
            g = np.concatenate(r.g) if r.g else np.zeros(0, np.int64)
            times[name] = place(key[np.clip(g, 0, len(key) - 1)].astype(np.float64))
        ends = place(np.array([key[0], key[-1]], np.float64))
        self.warnings.append(
            "no boot clock in this (old) log: log time is GPS time of week; records between "
            f"GPS fixes placed by counting {self.type_names.get(ref, '?')} records"
        )
        return times, int(min(ends[0], tow_us.min())), int(max(ends[1], tow_us.max()))

    def _scaled(self, name: str, col: str) -> F64 | None:
        r = self.rows.get(name)
        f = self.fmts.get(name)
        if r is None or f is None:
            return None
        v = r.column(col)
        if v is None or col not in f.columns:
            return v
        ch = f.fmt[f.columns.index(col)]
        if ch in _SELF_SCALED:
            return v
        mults = self.fmtu.get(name)
        if mults is not None:
            i = f.columns.index(col)
            mid = mults[i] if i < len(mults) else "-"
            m = self.mult.get(mid)
            if m is not None and m != 0 and mid not in "-?":
                return v * m
            return v
        if ch in _INTEGER and (name, col) in _LEGACY_CENTI:
            return v * 0.01
        return v

    def finish(self, fmt: str, size: int) -> LogData:
        times, first_t, last_t = self._resolve_times()
        data = LogData(format=fmt, first_t=first_t, last_t=last_t, size=size)
        sort_note: list[str] = []

        def primary(name: str) -> npt.NDArray[np.bool_] | None:
            r = self.rows.get(name)
            if r is None or name not in times:
                return None
            for c in _INSTANCE_COLUMNS:
                inst = r.column("_i_" + c)
                if inst is not None:
                    return np.asarray(inst == 0)
            return np.ones(len(times[name]), bool)

        def series(name: str, v: F64 | None, keep: npt.NDArray[np.bool_] | None = None) -> Series:
            sel = primary(name)
            if v is None or sel is None:
                return Series.empty(0 if v is None or v.ndim == 1 else v.shape[1])
            if keep is not None:
                sel = sel & keep
            return _ordered(times[name][sel], v[sel], sort_note)

        def healthy(name: str) -> npt.NDArray[np.bool_] | None:
            r = self.rows.get(name)
            if r is None:
                return None
            health = r.column("Health")
            if health is None:
                health = r.column("H")  # 4.2+
            if health is not None:
                return np.asarray(health != 0)
            status = r.column("Status") if name == "GPS" else None
            if status is not None:
                return np.asarray(status >= 3)
            return None

        def first_of(*sources: tuple[str, str]) -> Series:
            for name, col in sources:
                s = series(name, self._scaled(name, col), healthy(name))
                if len(s):
                    return s
            return Series.empty()

        old_copter = self._old_copter()
        # armed / landed: every source there is, merged
        armed: list[Series] = []
        landed: list[Series] = []
        ev = self._scaled("EV", "Id")
        if ev is not None:
            armed.append(series("EV", np.where(ev == EV_ARMED, 1.0, 0.0), np.isin(ev, (10, 11))))
            down = (EV_TAKEOFF,) if old_copter else (EV_TAKEOFF, EV_NOT_LANDED)
            landed.append(
                series(
                    "EV",
                    np.where(ev == EV_LAND_COMPLETE, 1.0, 0.0),
                    np.isin(ev, (EV_LAND_COMPLETE, *down)),
                )
            )
        arm = self._scaled("ARM", "ArmState")
        if arm is not None:
            armed.append(series("ARM", (arm != 0).astype(np.float64)))
        st_armed = self._scaled("STAT", "Armed")
        if st_armed is not None:
            armed.append(series("STAT", (st_armed != 0).astype(np.float64)))
        st_arms = self._scaled("STAT", "ArmS")
        if st_arms is not None:
            armed.append(series("STAT", np.isin(st_arms, (2, 3)).astype(np.float64)))
        flying = self._scaled("STAT", "isFlying")
        if flying is not None:
            landed.append(series("STAT", (flying == 0).astype(np.float64)))
        st_landed = self._scaled("STAT", "Landed")
        if st_landed is not None:
            landed.append(series("STAT", (st_landed != 0).astype(np.float64)))
        data.armed = _merge(armed, sort_note)
        data.landed = _merge(landed, sort_note)

        data.altitude = first_of(
            ("BARO", "Alt"), ("CTUN", "BarAlt"), ("CTUN", "BAlt"), ("GPS", "RelAlt")
        )
        data.climb = first_of(("BARO", "CRt"), ("CTUN", "CRt"), ("CTUN", "CRate"))
        data.speed = first_of(("ARSP", "Airspeed"))
        data.speed_kind = "air" if len(data.speed) else ""
        if not len(data.speed):
            data.speed = first_of(("GPS", "Spd"))
            data.speed_kind = "ground" if len(data.speed) else ""
        acc = [self._scaled("IMU", c) for c in ("AccX", "AccY", "AccZ")]
        if all(a is not None for a in acc):
            data.accel = series("IMU", np.column_stack([a for a in acc if a is not None]))
        else:
            data.accel = Series.empty(3)
        data.temperature = first_of(("ARSP", "Temp"), ("BARO", "Temp"))
        data.battery_v = first_of(("BAT", "Volt"), ("CURR", "Volt"), ("BATT", "V"))
        data.battery_a = first_of(("BAT", "Curr"), ("CURR", "Curr"), ("BATT", "C"))

        data.start_us = self._start_us(times)
        data.vehicle_id = self._vehicle_id()

        w = self.warnings
        if self.skipped:
            w.append(
                f"{self.skipped} bytes skipped in {self.skip_places} place(s): corrupt data or "
                "records of unknown type"
            )
        if self.bad_lines:
            w.append(f"{self.bad_lines} line(s) with unreadable fields skipped")
        if self.unknown_lines:
            w.append(f"{self.unknown_lines} line(s) that are not log records skipped")
        if sort_note:
            w.append("log time goes backwards in places: samples put back in time order")
        data.warnings = w
        return data

    def _start_us(self, times: dict[str, I64]) -> int | None:
        if not self.boot_seen or "GPS" not in times:
            return None
        gps = self.rows["GPS"]
        t = times["GPS"]
        status = gps.column("Status")
        week = gps.column("GWk")
        ms = gps.column("GMS")
        if week is None or ms is None:
            week, ms = gps.column("Week"), gps.column("TimeMS")
        inst = gps.column("_i_I")
        ok = np.ones(len(t), bool) if inst is None else inst == 0
        if status is not None:
            ok &= status >= 3
        if week is not None and ms is not None:
            ok &= (week > 0) & np.isfinite(ms) & np.isfinite(week)
            if ok.any():
                utc = gps_to_utc_us(week[ok], ms[ok])
                return int(np.median(utc - t[ok]))
            return None
        utc_us = gps.column("GPSTime")  # PX4 sdlog2
        if utc_us is not None:
            ok &= utc_us > 0
            if ok.any():
                return int(np.median(utc_us[ok].astype(np.int64) - t[ok]))
        return None

    def _vehicle_id(self) -> str | None:
        for m in self.msgs:
            hit = _BOARD_RE.match(m)
            if hit:
                return f"{hit.group(1)} {' '.join(hit.group(2).split())}"
        sysid = self.params.get("SYSID_THISMAV")
        if sysid is not None and np.isfinite(sysid):
            return f"mavlink-sysid-{int(sysid)}"
        return None

    def _old_copter(self) -> bool:
        for line in [*self.header_lines, *self.msgs[:20]]:
            hit = _VERSION_RE.search(line)
            if hit:
                return hit.group(1) == "ArduCopter" and int(hit.group(2)) < 3
        return False


def _ordered(t: I64, v: F64, note: list[str]) -> Series:
    t = np.ascontiguousarray(t, np.int64)
    v = np.ascontiguousarray(v, np.float64)
    if len(t) > 1 and (np.diff(t) < 0).any():
        note.append("x")
        o = np.argsort(t, kind="stable")
        t, v = t[o], v[o]
    return Series(t, v)


def _merge(parts: list[Series], note: list[str]) -> Series:
    parts = [p for p in parts if len(p)]
    if not parts:
        return Series.empty()
    if len(parts) == 1:
        return parts[0]
    t = np.concatenate([p.t for p in parts])
    v = np.concatenate([p.v for p in parts])
    o = np.argsort(t, kind="stable")
    return Series(t[o], v[o])


# --- binary ----------------------------------------------------------------------------------


class _Binary:
    """Streams a binary log through a :class:`_Collector`."""

    def __init__(self, col: _Collector) -> None:
        self.col = col
        self.again = False
        self.fmts: dict[int, _Fmt] = {
            FMT_TYPE: _Fmt.make(
                "FMT", FMT_LEN, "BBnNZ", ["Type", "Length", "Name", "Format", "Columns"]
            )
        }
        self.lengths = np.full(256, -1, np.int64)
        self.lengths[FMT_TYPE] = FMT_LEN
        self.time_off = np.zeros(256, np.int64)
        self.time_size = np.zeros(256, np.int64)
        self.time_us = np.zeros(256, np.int64)
        self.col.type_names[FMT_TYPE] = "FMT"
        self.bad_formats: set[str] = set()
        self.wanted: list[int] = []  # types we decode

    def _register(self, type_: int, f: _Fmt) -> None:
        self.fmts[type_] = f
        self.lengths[type_] = f.length
        self.col.fmts[f.name] = f
        self.col.type_names[type_] = f.name
        if f.time_col >= 0:
            self.time_off[type_] = 3 + f.offsets[f.time_col]
            self.time_size[type_] = 8 if f.fmt[f.time_col] in "Qq" else 4
            self.time_us[type_] = f.time_us
        else:
            self.time_size[type_] = 0
        if type_ in self.wanted:
            self.wanted.remove(type_)
        if f.decodable and (f.name in KEEP or f.name in _WORDY):
            self.wanted.append(type_)
        if not f.decodable and f.name not in self.bad_formats:
            self.bad_formats.add(f.name)
            self.col.warnings.append(f"record type {f.name} has a format we do not decode")

    def chunk(self, buf: bytearray, n: int, final: bool) -> int:
        """Read the records in ``buf[:n]`` (followed by PAD zero bytes); bytes consumed."""
        col = self.col
        arr = np.frombuffer(buf, np.uint8)
        if n < 3:
            return 0
        a3 = np.flatnonzero(arr[: n - 2] == HEAD1)
        cand = a3[arr[a3 + 1] == HEAD2]
        types = arr[cand + 2]

        # FMT records first: they define the lengths of what follows
        limit = n
        for p in cand[types == FMT_TYPE].tolist():
            if p + FMT_LEN > n:
                break
            parsed = _parse_fmt_body(bytes(buf[p + 3 : p + FMT_LEN]))
            if parsed is None:
                continue
            type_, f = parsed
            old = self.fmts.get(type_)
            if old is None or old.same(f) or type_ == FMT_TYPE:
                if old is None:
                    self._register(type_, f)
                continue
            if p > 0:  # a redefinition: read up to it, then go on with the new format
                limit = p
                break
            self._register(type_, f)

        lens = self.lengths[types]
        ok = (lens > 0) & (cand + lens <= limit)
        starts = cand[ok]
        types = types[ok]
        ends = starts + lens[ok]
        path = greedy_chain(starts, ends)
        pos = starts[path]
        typ = types[path]
        end = ends[path]

        if len(pos):
            col.skip(int(pos[0]))
            gaps = pos[1:] - end[:-1]
            bad = gaps > 0
            if bad.any():
                col.skip(int(gaps[bad].sum()), int(bad.sum()))
            consumed = int(end[-1])
        else:
            consumed = 0
        self.again = limit < n
        if limit < n:
            col.skip(limit - consumed)
            consumed = limit
        elif not final and n - consumed > MAX_RECORD:
            col.skip(n - MAX_RECORD - consumed)
            consumed = n - MAX_RECORD

        self._decode(arr, pos, typ)
        return consumed

    def _time(self, arr: U8, pos: I64, type_: int) -> I64:
        """Boot-clock times (µs) of records of one timed type."""
        size = int(self.time_size[type_])
        raw = items_at(arr, pos + int(self.time_off[type_]), "<u8" if size == 8 else "<u4")
        t = raw.astype(np.int64)
        t[(t < 0) | (t > 1 << 62)] = 0
        return t * int(self.time_us[type_])

    def _decode(self, arr: U8, pos: I64, typ: U8) -> None:
        col = self.col
        m = len(pos)
        base = col.nrec
        col.nrec += m
        if not m:
            return
        timed = (self.time_size > 0)[typ]
        first = int(np.argmax(timed))
        if timed[first]:
            last = m - 1 - int(np.argmax(timed[::-1]))
            t_first = int(self._time(arr, pos[first : first + 1], int(typ[first]))[0])
            t_last = int(self._time(arr, pos[last : last + 1], int(typ[last]))[0])
        counts = np.bincount(typ, minlength=256)
        sel = {t: np.flatnonzero(typ == t) for t in self.wanted if counts[t]}

        # untimed kept records: the time of the preceding timed record
        untimed = [i for t, i in sel.items() if not self.time_size[t] and self.fmts[t].name in KEEP]
        filled = np.zeros(0, np.int64)
        need = np.zeros(0, np.intp)
        if untimed:
            need = np.sort(np.concatenate(untimed))
            ti = np.flatnonzero(timed)
            j = np.searchsorted(ti, need, side="right") - 1
            prev = np.full(len(need), col.carry_t, np.int64)
            ok = j >= 0
            for t in np.unique(typ[ti[j[ok]]]).tolist():
                at = np.flatnonzero(ok)[typ[ti[j[ok]]] == t]
                prev[at] = self._time(arr, pos[ti[j[at]]], t)
            filled = prev
        if timed[first]:
            col.note_times(t_first, t_last)
        if not col.boot_seen:
            col.order.append(typ.astype(np.int32))

        for type_, idx in sel.items():
            f = self.fmts[type_]
            if f.name in _WORDY:
                self._wordy(f, arr, pos[idx] + 3)
                continue
            want = [c for c in KEEP[f.name] if f.is_number(c)]
            inst = [c for c in _INSTANCE_COLUMNS if f.is_number(c)]
            tow = [f.columns[f.tow_col]] if f.tow_col >= 0 else []
            names = list(dict.fromkeys(want + inst + tow))
            if not names:
                continue
            rec = items_at(arr, pos[idx] + 3, f.numeric_dtype(names))
            cols: dict[str, F64] = {}
            for c in want:
                scale = _CHARS[f.fmt[f.columns.index(c)]][1]
                v = rec[c].astype(np.float64)
                cols[c] = v * scale if scale != 1.0 else v
            for c in inst:
                cols["_i_" + c] = rec[c].astype(np.float64)
            if tow:
                cols["_tow"] = rec[tow[0]].astype(np.float64)
            if self.time_size[type_]:
                t = self._time(arr, pos[idx], type_)
                col.extremes(int(t.min()), int(t.max()))
            else:
                t = filled[np.searchsorted(need, idx)]
            col.rows_of(f.name).add(t, base + idx, cols)

    def _wordy(self, f: _Fmt, arr: U8, at: I64) -> None:
        col = self.col
        cols = f.columns
        if f.name == "MSG" and "Message" in cols:
            rec = items_at(arr, at, f.numeric_dtype(["Message"]))
            col.msgs.extend(_text(x) for x in rec["Message"].tolist())
        elif f.name == "PARM" and "Name" in cols and "Value" in cols:
            rec = items_at(arr, at, f.numeric_dtype(["Name", "Value"]))
            hit = rec["Name"] == _SYSID
            for v in rec["Value"][hit].tolist():
                col.params["SYSID_THISMAV"] = float(v)
        elif f.name == "FMTU" and "FmtType" in cols and "MultIds" in cols:
            rec = items_at(arr, at, f.numeric_dtype(["FmtType", "MultIds"]))
            for t, mids in zip(rec["FmtType"].tolist(), rec["MultIds"].tolist(), strict=True):
                target = self.fmts.get(int(t))
                if target is not None:
                    col.fmtu[target.name] = _text(mids)
        elif f.name == "MULT" and "Id" in cols and "Mult" in cols:
            rec = items_at(arr, at, f.numeric_dtype(["Id", "Mult"]))
            for i, v in zip(rec["Id"].tolist(), rec["Mult"].tolist(), strict=True):
                col.mult[chr(int(i) & 0xFF)] = float(f"{float(v):.7g}")


def _text(b: object) -> str:
    if isinstance(b, bytes):
        return b.split(b"\0")[0].decode("utf-8", "replace").strip()
    return str(b).strip()


# --- text ------------------------------------------------------------------------------------


def _name_key(name: str) -> int:
    raw = name.encode("ascii", "replace")[:8].ljust(8, b"\0")
    return int.from_bytes(raw, "little")


@dataclass
class _Kept:
    """How the tokenizer parses the lines of one kept record type (``_textscan``)."""

    f: _Fmt
    words: bool  # some fields are words (not parsed); the others are read as ``float()``
    codes: I64  # per field: its output column (-1: not kept), words -2 (-3 - column: kept)
    out: dict[str, int]  # kept column (KEEP, _i_*, _tow) -> output column
    time_out: int  # the output column of the boot clock, -1 without one
    need: list[int]  # the field of each output column

    @classmethod
    def make(cls, name: str, f: _Fmt) -> _Kept:
        words = not f.decodable or any(ch in _NOT_NUMBER_IN_TEXT for ch in f.fmt)
        field = {c: f.columns.index(c) for c in KEEP[name] if c in f.columns}
        field |= {"_i_" + c: f.columns.index(c) for c in _INSTANCE_COLUMNS if c in f.columns}
        if f.tow_col >= 0:
            field["_tow"] = f.tow_col
        need = sorted({*field.values(), *([f.time_col] if f.time_col >= 0 else [])})
        at = {j: o for o, j in enumerate(need)}
        codes = [at.get(j, -1) for j in range(len(f.fmt))]
        if words:
            # a word: -2, or -3 - its output column when kept (-3 - -1 is -2)
            codes = [
                -3 - c if ch in _NOT_NUMBER_IN_TEXT else c
                for c, ch in zip(codes, f.fmt, strict=True)
            ]
        out = {c: at[j] for c, j in field.items()}
        return cls(f, words, np.array(codes, np.int64), out, at.get(f.time_col, -1), need)

    @property
    def nout(self) -> int:
        return len(self.need)


@dataclass
class _Table:
    """The record names a text log defines, in order (their index: the table index), with
    the hash table of their keys for the tokenizer, which types it parses (``kind``: the
    index in ``kept``, -1) and which it lists (``wordy``)."""

    keys: tuple[int, ...]
    names: list[str]
    hkeys: I64
    hvals: npt.NDArray[np.int32]
    kind: I64
    wordy: I64
    kept: list[tuple[int, str]]

    @classmethod
    def make(cls, ts: Any, keys: tuple[int, ...], names: list[str]) -> _Table:
        hkeys, hvals = ts.hash_table(list(keys))
        kept = [(t, name) for t, name in enumerate(names) if name in KEEP]
        kind = np.full(len(names), -1, np.int64)
        kind[[t for t, _ in kept]] = np.arange(len(kept))
        wordy = np.array(
            [
                ts.WORDY_NAMED
                if name == "PARM"
                else ts.WORDY_ALL
                if name in _WORDY
                else ts.WORDY_NO
                for name in names
            ],
            np.int64,
        )
        return cls(keys, names, hkeys, hvals, kind, wordy, kept)


#: what a text FMT line defines, by the line (the same firmware writes the same FMT lines: a
#: log read again, or the next log of the fleet, parses none of them again)
_FMT_LINES: dict[bytes, tuple[int, _Fmt, int] | None] = {}
#: how a kept type is parsed, by its format (id: the value holds the format, so its id is
#: not reused while there)
_KEPT: dict[int, _Kept] = {}
#: the table of the defined names, by their keys
_TABLES: dict[tuple[int, ...], _Table] = {}
#: the kept types of a table and how they are parsed (``_Text._setup``)
_SETUPS: dict[
    tuple[tuple[int, ...], tuple[int, ...]], tuple[list[tuple[str, _Kept]], I64, I64]
] = {}
_MEMO_MAX = 4096


def _memo(memo: dict[Any, Any], key: object, value: object) -> None:
    if len(memo) >= _MEMO_MAX:
        memo.clear()
    memo[key] = value


def _fromstring(s: bytes) -> F64 | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return np.fromstring(s, dtype=np.float64, sep=",")
        except ValueError:
            return None


class _Text:
    """Streams a text log through a :class:`_Collector`.

    The compiled tokenizer (``_textscan``) finds the lines and their record names, then
    parses the value fields of the kept types into float64 columns. A line with a field off
    its exact fast path is parsed here as the numpy reader did: the types whose fields are
    all numbers with ``np.fromstring`` (every field of the line must parse, extra ones too; a
    blank field reads -1 there), the types with words (``n``, ``N``, ``Z``, ``M``, ``a``)
    field by field with ``float()``, words left out. The FMT lines of a chunk are read before
    its other lines.
    """

    again = False

    def __init__(self, col: _Collector, chunk_size: int) -> None:
        from kanat.flightlogs import _textscan  # numba: only when a text log is read

        self.ts = _textscan
        self.col = col
        self.chunk_size = chunk_size
        self.key_fmt = _name_key("FMT")
        self.names: dict[int, str] = {}  # key -> name of a defined format
        self.by_number: dict[int, str] = {}  # FMT type number -> name (for FMTU)
        self.ids: dict[str, int] = {}  # name -> type id for the clock of old logs
        self.header_done = False
        self.table: _Table | None = None

    def _id(self, name: str) -> int:
        i = self.ids.get(name)
        if i is None:
            i = self.ids[name] = len(self.ids) + 1
            self.col.type_names[i] = name
        return i

    def _table(self) -> _Table:
        """The table of the defined names (new when a name comes)."""
        if self.table is None or len(self.table.names) != len(self.names):
            keys = tuple(self.names)
            table = _TABLES.get(keys)
            if table is None:
                table = _Table.make(self.ts, keys, list(self.names.values()))
                _memo(_TABLES, keys, table)
            self.table = table
        return self.table

    def _setup(self, table: _Table) -> tuple[list[tuple[str, _Kept]], I64, I64]:
        """The kept types of the table, how they are parsed: (name, spec), codes, info."""
        specs = [(name, self._kept(name)) for _, name in table.kept]
        key = (table.keys, tuple(id(s) for _, s in specs))
        setup = _SETUPS.get(key)
        if setup is None:
            info: list[list[int]] = []
            code0 = 0
            for (t, _), (_, s) in zip(table.kept, specs, strict=True):
                width = len(s.codes)
                info.append([t, s.words, width, code0, s.nout, s.time_out, s.f.time_us])
                code0 += width
            codes = np.concatenate([s.codes for _, s in specs]) if specs else np.zeros(0, np.int64)
            setup = (specs, codes, np.array(info, np.int64).reshape(len(info), 7))
            _memo(_SETUPS, key, setup)  # holds the specs: their ids stay theirs
        return setup

    def _kept(self, name: str) -> _Kept:
        f = self.col.fmts[name]
        k = _KEPT.get(id(f))
        if k is None or k.f is not f:
            k = _Kept.make(name, f)
            _memo(_KEPT, id(f), k)
        return k

    def chunk(self, buf: bytearray, n: int, final: bool) -> int:
        """Read the lines in ``buf[:n]`` (followed by PAD zero bytes); bytes consumed."""
        ts = self.ts
        col = self.col
        arr = np.frombuffer(buf, np.uint8)
        starts, keys, fmt_lines = ts.scan_lines(arr, n, final, self.key_fmt)
        nl = len(keys)
        if nl == 0:
            if n > max(self.chunk_size, 1 << 20):  # no line end in sight: not text
                col.skip(n)
                return n
            return 0
        end = int(starts[nl])
        consumed = min(end, n)
        open_last = end > n  # the file's last line, without its newline

        if not self.header_done:
            self._header(buf, starts, keys)
        if len(fmt_lines):
            at = starts[fmt_lines].tolist()
            for a, b in zip(at, starts[fmt_lines + 1].tolist(), strict=True):
                self._fmt_line(bytes(buf[a : b - 1]))

        table = self._table()
        names = table.names
        specs, codes, info = self._setup(table)
        tid, counts, unknown, meta, vals, line, status, rt, times, wlines, clock = ts.parse_chunk(
            arr,
            starts,
            keys,
            table.hkeys,
            table.hvals,
            table.kind,
            table.wordy,
            info,
            codes,
            _SYSID_U8,
            open_last,
            col.carry_t,
        )
        col.unknown_lines += unknown
        for i in wlines.tolist():  # only SYSID_THISMAV of the PARM lines is of use
            self._wordy_line(col.fmts[names[tid[i]]], _values(_line(buf, starts, i)))

        ok = status == ts.OK
        if clock[ts.C_FALLBACK] or clock[ts.C_NUMPY]:  # odd lines: as the numpy reader
            self._odd_lines(buf, n, starts, open_last, specs, meta, vals, line, status, rt)
            ok = status == ts.OK
            decoded = np.argsort(line, kind="stable")
            decoded = decoded[ok[decoded]]  # the rows in line order
            times[decoded] = col.clock(rt[decoded])
        elif clock[ts.C_TIMED]:  # what col.clock does
            if not col.boot_seen:
                col.boot_seen = True
                col.first_boot_t = int(clock[ts.C_FIRST])
                col.order.clear()
            col.extremes(int(clock[ts.C_LOW]), int(clock[ts.C_HIGH]))
            col.carry_t = int(clock[ts.C_LAST])
        col.bad_lines += len(ok) - int(np.count_nonzero(ok))

        if not col.boot_seen:  # the record types, for placing records by counting
            ids = np.zeros(len(names) + 2, np.int32)  # the last two: UNKNOWN, NOT_RECORD
            present = np.flatnonzero(counts).tolist()
            for t in sorted(present, key=lambda t: _name_key(names[t])):
                ids[t] = self._id(names[t])
            col.order.append(ids[tid])
        base = col.nrec
        col.nrec += nl
        for k, (name, s) in enumerate(specs):
            r0, c, v0 = meta[k].tolist()
            if not c:
                continue
            block = vals[v0 : v0 + c * s.nout].reshape(s.nout, c)
            good = ok[r0 : r0 + c]
            if good.all():
                at = line[r0 : r0 + c]
                when = times[r0 : r0 + c].copy()
                cols = {key: block[o].copy() for key, o in s.out.items()}
            else:
                at = line[r0 : r0 + c][good]
                when = times[r0 : r0 + c][good]
                cols = {key: block[o][good] for key, o in s.out.items()}
            # record numbers place the records of logs without a boot clock only
            g = base + at if not col.boot_seen else np.zeros(0, np.int64)
            col.rows_of(name).add(when, g, cols)
        return consumed

    def _odd_lines(
        self,
        buf: bytearray,
        n: int,
        starts: I64,
        open_last: bool,
        specs: list[tuple[str, _Kept]],
        meta: I64,
        vals: F64,
        line: I64,
        status: npt.NDArray[np.int8],
        rt: I64,
    ) -> None:
        """The rows the tokenizer left: lines for the slow path, times beyond int64."""
        ts = self.ts
        last = len(starts) - 2
        for g in np.flatnonzero(status == ts.FALLBACK).tolist():
            k = int(np.searchsorted(meta[:, ts.ROW0], g, side="right")) - 1
            (_, s), (r0, c, v0) = specs[k], meta[k].tolist()
            i = int(line[g])
            v = self._slow_line(buf, n, starts, i, open_last and i == last, s)
            status[g] = ts.BAD if v is None else ts.OK
            if v is not None:
                at = v0 + g - r0
                vals[at : at + s.nout * c : c] = [v[j] for j in s.need]
                if s.time_out >= 0:
                    rt[g] = ts.boot_time(vals[at + s.time_out * c], s.f.time_us)
        for g in np.flatnonzero(rt == ts.TIME_NUMPY).tolist():  # beyond int64
            k = int(np.searchsorted(meta[:, ts.ROW0], g, side="right")) - 1
            (_, s), (r0, c, v0) = specs[k], meta[k].tolist()
            at = v0 + g - r0 + s.time_out * c
            rt[g] = int(np.round(vals[at : at + 1] * s.f.time_us).astype(np.int64)[0])

    def _header(self, buf: bytearray, starts: I64, keys: I64) -> None:
        for i in np.flatnonzero(keys[:400] == self.ts.NOT_RECORD).tolist():
            line = _line(buf, starts, i).decode("ascii", "replace").strip()
            if line:
                self.col.header_lines.append(line)
        self.header_done = True

    def _fmt_line(self, line: bytes) -> None:
        if line in _FMT_LINES:
            checked = _FMT_LINES[line]
        else:
            checked = _text_fmt(line)
            _memo(_FMT_LINES, line, checked)
        if checked is None:
            self.col.bad_lines += 1
            return
        type_, f, key = checked
        self.col.fmts[f.name] = f
        self.names[key] = f.name
        self.by_number[type_] = f.name

    def _wordy_line(self, f: _Fmt, rest: bytes) -> None:
        col = self.col
        width = len(f.columns)
        parts = [p.strip() for p in rest.decode("utf-8", "replace").split(",", max(width - 1, 0))]
        if len(parts) < width:
            col.bad_lines += 1
            return
        val = dict(zip(f.columns, parts, strict=False))
        try:
            if f.name == "MSG" and "Message" in val:
                col.msgs.append(val["Message"])
            elif f.name == "PARM" and "Name" in val and "Value" in val:
                col.params[val["Name"]] = float(val["Value"].split(",")[0])
            elif f.name == "FMTU" and "FmtType" in val and "MultIds" in val:
                target = self.by_number.get(int(val["FmtType"]))
                if target is not None:
                    col.fmtu[target] = val["MultIds"].split(",")[0]
            elif f.name == "MULT" and "Id" in val and "Mult" in val:
                mult = float(val["Mult"].split(",")[0])
                col.mult[chr(int(val["Id"]) & 0xFF)] = float(f"{mult:.7g}")
        except ValueError:
            col.bad_lines += 1

    def _slow_line(
        self, buf: bytearray, n: int, starts: I64, i: int, open_last: bool, spec: _Kept
    ) -> list[float] | None:
        """One line parsed as the numpy reader did: its values, None for a bad line."""
        a, end = int(starts[i]), int(starts[i + 1]) - 1
        vstart = buf.find(b",", a + 1, a + 9) + 1
        width = len(spec.codes)
        if not spec.words:
            if open_last:  # the last line of the file, without a newline
                seg = bytes(buf[vstart:n])
                cnt = seg.count(b",") + (1 if seg and seg[-1] != 44 else 0)
            else:
                seg = bytes(buf[vstart:end]) + b","
                cnt = seg.count(b",")
            got = _fromstring(seg)
            if got is None or len(got) != cnt or cnt < width:
                return None
            return [float(x) for x in got[:width]]
        eff = end - 1 if end > a and buf[end - 1] == 13 else end
        parts = bytes(buf[vstart:eff]).split(b",")
        if len(parts) < width:
            return None
        try:
            return [np.nan if c <= -2 else float(parts[j]) for j, c in enumerate(spec.codes)]
        except ValueError:
            return None


def _text_fmt(line: bytes) -> tuple[int, _Fmt, int] | None:
    """The type, format and name key a text FMT line defines."""
    parts = [p.strip() for p in _values(line).decode("ascii", "replace").split(",")]
    if len(parts) < 4:
        return None
    cols = ",".join(parts[4:])
    if parts[2] == "FMT" and cols == "Type,Length,Name,Format":
        cols += ",Columns"
    try:
        checked = _checked_fmt(int(parts[0]), int(parts[1]), parts[2], parts[3], cols)
    except ValueError:
        return None
    return None if checked is None else (*checked, _name_key(checked[1].name))


def _line(buf: bytearray, starts: I64, i: int) -> bytes:
    """Line ``i`` without its newline and an ending CR."""
    a, end = int(starts[i]), int(starts[i + 1]) - 1
    return bytes(buf[a : end - 1 if end > a and buf[end - 1] == 13 else end])


def _values(line: bytes) -> bytes:
    """The value fields of a record line: after ``NAME,`` (its first comma at 1..8)."""
    return line[line.find(b",", 1, 9) + 1 :]


# --- entry points ----------------------------------------------------------------------------


def sniff_bin(head: bytes) -> bool:
    """Does this look like a binary DataFlash log: a valid FMT record near the start?"""
    p = head.find(bytes((HEAD1, HEAD2, FMT_TYPE)), 0, 4096)
    if p < 0:
        return False
    if len(head) < p + FMT_LEN:
        return p == 0
    return _parse_fmt_body(head[p + 3 : p + FMT_LEN]) is not None


_TEXT_FMT = re.compile(rb"(?:^|\n)\s*FMT,\s*\d+\s*,")


def sniff_text(head: bytes) -> bool:
    """Does this look like a text DataFlash log: ``FMT, <type>,`` lines, no binary?"""
    h = head[:8192]
    return b"\0" not in h and _TEXT_FMT.search(h) is not None


class Feed(Protocol):
    """A chunk reader for :func:`stream`."""

    again: bool

    def chunk(self, buf: bytearray, n: int, final: bool) -> int: ...


def stream(fh: io.BufferedIOBase, chunk: int, feed: Feed, pad: int = PAD) -> tuple[int, bytes]:
    """Feed a file chunk by chunk (one reused buffer, each chunk followed by ``pad`` zero
    bytes) to ``feed.chunk``, which returns the bytes it used; the rest is carried over to
    the next chunk. Returns the bytes read and what was left unread at the end."""
    size = 0
    buf = bytearray(chunk + MAX_RECORD + pad)
    have = 0  # bytes carried over at the start of buf
    while True:
        if len(buf) < have + chunk + pad:
            grown = bytearray(have + chunk + pad)
            grown[:have] = buf[:have]
            buf = grown
        with memoryview(buf) as mv:
            got = fh.readinto(mv[have : have + chunk])
        size += got
        final = got == 0
        n = have + got
        buf[n : n + pad] = bytes(pad)
        used = feed.chunk(buf, n, final) if n else 0
        while feed.again and 0 < used < n:  # the feed wants to go on from ``used``
            buf[: n - used] = buf[used:n]
            n -= used
            buf[n : n + pad] = bytes(pad)
            used = feed.chunk(buf, n, final)
        if final:
            return size, bytes(buf[used:n])
        have = n - used
        buf[:have] = buf[used:n]


def _stream(fh: io.BufferedIOBase, chunk: int, feed: _Binary | _Text) -> int:
    size, rest = stream(fh, chunk, feed)
    if rest:
        if isinstance(feed, _Binary):
            head = bytes((HEAD1, HEAD2))
            what = "truncated last record" if rest[:2] == head else "unreadable bytes"
            feed.col.warnings.append(f"{what} at the end: {len(rest)} bytes")
        elif rest.strip(b"\0\xff \r\n\t"):
            feed.col.warnings.append(f"unreadable end of file: {len(rest)} bytes")
    return size


def _read(path: str | os.PathLike[str], chunk_size: int) -> LogData:
    with open(path, "rb") as fh:
        head = fh.read(8192)
        fh.seek(0)
        col = _Collector()
        if sniff_bin(head):
            fmt = "dataflash-bin"
            size = _stream(fh, chunk_size, _Binary(col))
        elif sniff_text(head):
            fmt = "dataflash-text"
            # a small file gets a buffer of its size (the chunks are the same)
            whole = os.fstat(fh.fileno()).st_size + 1
            size = _stream(fh, min(chunk_size, max(whole, 4096)), _Text(col, chunk_size))
        else:
            raise LogError(
                f"{os.fspath(path)}: not a DataFlash log (no FMT record at the start); "
                "we read ULog, DataFlash .bin/.log, MAVLink .tlog and CSV logs"
            )
    if col.nrec == 0 and not col.rows:
        raise LogError(f"{os.fspath(path)}: no readable DataFlash records")
    return col.finish(fmt, size)


def read(path: str | os.PathLike[str], *, chunk_size: int = 1 << 24) -> LogData:
    """Read a DataFlash log (binary or text, told apart by content) into :class:`LogData`.

    Raises :class:`LogError` for anything it cannot read."""
    chunk_size = max(int(chunk_size), 1024)
    try:
        with np.errstate(all="ignore"):  # garbage values in damaged logs are not news
            return _read(path, chunk_size)
    except LogError:
        raise
    except OSError as e:
        raise LogError(f"{os.fspath(path)}: cannot read the file ({e})") from e
    except Exception as e:  # noqa: BLE001 - anything unexpected is an unreadable log
        raise LogError(
            f"{os.fspath(path)}: unreadable DataFlash log ({type(e).__name__}: {e})"
        ) from e
