"""Streaming PX4 ULog reader: keeps only the series of :class:`~kanat.flightlogs.base.LogData`.

How: the file is read in chunks (``readinto`` into one reused buffer, 16 MiB by default). In
each chunk numpy finds every byte that could be the type byte of a data (``D``) message and
links each such candidate to the candidate starting where it ends; a chain of linked
candidates (a "run") is a stretch of consecutive data messages once the walk lands on its
first one. A Python loop follows the real message chain from the header on, handles the
definitions and the rare other messages, and takes a whole run per step. The data messages
of the kept topics are then gathered with one numpy index per topic (from a view of the
buffer with a record at every byte) and decoded with structured dtypes built from the log's
own format definitions. What we do not need (parameters, multi-part infos, formats of other
topics) is kept raw and parsed on demand. Memory: the buffer and its scratch arrays (about
three chunks) plus the kept fields of the kept topics, whatever the size of the file.

Format (https://docs.px4.io/main/en/dev_log/ulog_file_format): a 16-byte header (magic,
version, start timestamp), then messages ``uint16 size, uint8 type, payload``. Definitions
section: ``B`` flag bits (incompatible flags, appended-data offsets), ``F`` formats (nested
types, arrays, ``_padding`` fields; trailing padding may be left out of the data), ``I`` info,
``M`` multi-part info, ``P`` parameters, ``Q`` default parameters. Data section (which starts
at the first ``A``/``L``/``C``/``O``/``S``/``R``): ``A`` subscription (msg_id -> topic +
multi_id), ``D`` data, ``L``/``C`` log strings, ``S`` sync marker, ``O`` dropout, ``R``
unsubscription, and ``I``/``M``/``P``/``Q`` again. With the "data appended" flag the data
section is read up to each appended offset (a message cut by the offset is dropped) and
resumes at the offset.

Robustness: anything that is not a readable ULog raises :class:`LogError`. A file cut at the
end returns what was readable plus a warning; so do dropouts (total ms), data records with an
unknown msg_id or a wrong size, unknown message types (skipped) and corrupt stretches (we skip
to the next sync marker, or stop when there is none). A file cut inside the definitions
section (or with garbage where definitions should be) is a :class:`LogError`.

Series kept. Every topic is read at instance ``multi_id == 0``: the first battery, the
primary sensor_accel / sensor_baro / GPS (later instances are redundant sensors), the single
vehicle_status / vehicle_land_detected / vehicle_local_position / sensor_combined. In each
list the first source with a finite value wins; field-name variants across PX4 versions are
in brackets:

* ``armed``: ``vehicle_status.arming_state == 2`` (ARMING_STATE_ARMED), else
  ``actuator_armed.armed``.
* ``landed``: ``vehicle_land_detected.landed``.
* ``altitude``: ``-vehicle_local_position.z`` (height above the EKF origin, set at the
  first position fix on the ground); else ``vehicle_global_position.alt``, else
  ``vehicle_air_data.baro_alt_meter``, else (PX4 <= 1.6) ``sensor_combined.baro_alt_meter``,
  each minus its first finite sample.
* ``climb``: ``-vehicle_local_position.vz``, else ``-vehicle_global_position.vel_d``.
* ``speed``: airspeed, ``speed_kind = "air"``: ``airspeed_validated``
  [``calibrated_airspeed_m_s`` | ``equivalent_airspeed_m_s`` | ``indicated_airspeed_m_s``],
  else ``airspeed.indicated_airspeed_m_s``; when no airspeed is logged, ground speed
  ``hypot(vx, vy)`` of ``vehicle_local_position`` (else ``vehicle_global_position``
  ``vel_n``/``vel_e``, else ``vehicle_gps_position`` ``vel_n_m_s``/``vel_e_m_s``),
  ``speed_kind = "ground"``.
* ``accel`` (n, 3): ``sensor_combined.accelerometer_m_s2[0..2]`` at the record
  ``timestamp``, else ``sensor_accel`` ``x, y, z``.
* ``temperature`` (outside air when the vehicle measures it): ``airspeed``
  ``air_temperature_celsius`` (PX4 <= 1.12), else ``differential_pressure.temperature``
  (pitot sensor), else ``vehicle_air_data.ambient_temperature`` where
  ``temperature_source != 0`` (PX4 >= 1.15; source 0 is the 15 degC default, not a
  measurement); else the barometer chip temperature, which reads warmer than the air:
  ``vehicle_air_data`` [``baro_temp_celcius`` | ``baro_temp_celsius``] (PX4 1.9-1.14),
  ``sensor_combined.baro_temp_celcius`` (PX4 <= 1.6), ``sensor_baro.temperature``. Samples
  outside -100..150 degC (the -1000 "unknown" of differential_pressure, NaN) are dropped.
* ``battery_v`` / ``battery_a``: ``battery_status`` ``voltage_v`` / ``current_a`` as logged
  (PX4 logs ``current_a = -1`` when it has no current sensor).
* ``start_us``: ``vehicle_gps_position`` (else ``sensor_gps``) ``time_utc_usec - timestamp``
  at the first sample with ``fix_type >= 2`` and a time after 2010. The ``time_ref_utc``
  info is *not* used: the spec defines it as the UTC offset in seconds (a time zone), not a
  point in time.
* ``first_t`` / ``last_t``: the header's timestamp (the log's start, as pyulog's
  ``start_timestamp``; the smallest non-zero data ``timestamp`` when the header has none) /
  the largest ``timestamp`` of all data records; ``vehicle_id``: the ``sys_uuid`` info, else
  ``"<ver_hw> <sys_name>"``; ``size``: bytes read.

Samples with ``timestamp == 0`` (topics published before they were initialised) are dropped
and each series is made non-decreasing in time (a stable sort, a no-op for normal logs).
"""

from __future__ import annotations

import io
import os
import re
import struct
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from kanat.flightlogs.base import F64, I64, LogData, LogError, Series

MAGIC = b"ULog\x01\x12\x35"
SYNC = b"\x2f\x73\x13\x20\x25\x0c\xbb\x12"

_HEADER = 16
_MAX_RECORD = 3 + 0xFFFF  # a message header plus the largest payload a uint16 size allows
_NO_SUB = 1 << 20  # "minimum payload size" of a msg_id nobody subscribed: never valid
_WINDOW = 1 << 20  # bytes parsed at once
_SLACK = 16  # bytes after the data in the buffer, so fixed-size views never run off its end
# a D message header followed by the first 8 payload bytes (the timestamp, nearly always)
_D_HEAD = np.dtype(
    {"names": ["size", "id", "ts"], "formats": ["<u2", "<u2", "<u8"], "offsets": [0, 3, 5]}
)
_MAX_FIELDS = 1_000_000  # format fields parsed in a file (a real log has ~5 000)
_MAX_TOPICS = 1000  # decoded subscriptions (a real log has ~20 of the topics we read)
_MAX_DEPTH = 16
_UTC_2010 = 1_262_304_000_000_000
_TEMP_RANGE = (-100.0, 150.0)

# ULog type -> (numpy type, size, struct code)
_BASE: dict[str, tuple[str, int, str]] = {
    "int8_t": ("i1", 1, "b"),
    "uint8_t": ("u1", 1, "B"),
    "int16_t": ("<i2", 2, "h"),
    "uint16_t": ("<u2", 2, "H"),
    "int32_t": ("<i4", 4, "i"),
    "uint32_t": ("<u4", 4, "I"),
    "int64_t": ("<i8", 8, "q"),
    "uint64_t": ("<u8", 8, "Q"),
    "float": ("<f4", 4, "f"),
    "double": ("<f8", 8, "d"),
    "bool": ("u1", 1, "?"),
    "char": ("i1", 1, "c"),
}

_DEFINITION_TYPES = frozenset(b"BFIMPQ")
_RAW_KINDS = frozenset(b"PQMF")  # definitions kept raw
_DATA_START_TYPES = frozenset(b"ALCOSR")

AnyArray = npt.NDArray[Any]
Make = Callable[[I64, list[AnyArray]], tuple[I64, F64]]


def sniff(head: bytes) -> bool:
    """True when ``head`` (the first bytes of a file) is a ULog header."""
    return bytes(head[: len(MAGIC)]) == MAGIC


# --- series rules ---------------------------------------------------------------------------


def _f64(a: AnyArray) -> F64:
    return np.asarray(a, dtype=np.float64)


def _value(t: I64, c: list[AnyArray]) -> tuple[I64, F64]:
    return t, _f64(c[0])


def _negated(t: I64, c: list[AnyArray]) -> tuple[I64, F64]:
    return t, -_f64(c[0])


def _relative(t: I64, c: list[AnyArray]) -> tuple[I64, F64]:
    v = _f64(c[0])
    finite = np.flatnonzero(np.isfinite(v))
    return t, (v - v[finite[0]]) if finite.size else v


def _flag(t: I64, c: list[AnyArray]) -> tuple[I64, F64]:
    return t, (c[0] != 0).astype(np.float64)


def _arming_state(t: I64, c: list[AnyArray]) -> tuple[I64, F64]:
    return t, (c[0] == 2).astype(np.float64)


def _norm(t: I64, c: list[AnyArray]) -> tuple[I64, F64]:
    return t, np.hypot(_f64(c[0]), _f64(c[1]))


def _vector(t: I64, c: list[AnyArray]) -> tuple[I64, F64]:
    out = np.empty((t.size, len(c)))
    for i, column in enumerate(c):
        out[:, i] = column
    return t, out


def _celsius(t: I64, c: list[AnyArray]) -> tuple[I64, F64]:
    v = _f64(c[0])
    ok = (v >= _TEMP_RANGE[0]) & (v <= _TEMP_RANGE[1])  # False for NaN
    return t[ok], v[ok]


def _measured_ambient(t: I64, c: list[AnyArray]) -> tuple[I64, F64]:
    measured = c[1] != 0
    return _celsius(t[measured], [c[0][measured]])


def _utc_offset(t: I64, c: list[AnyArray]) -> tuple[I64, F64]:
    utc = c[0].astype(np.int64)
    ok = (c[1] >= 2) & (utc >= _UTC_2010)
    return t[ok], _f64(utc[ok] - t[ok])


@dataclass(frozen=True)
class _Source:
    topic: str
    #: per column, the field names accepted for it (PX4 renamed some), first found wins
    fields: tuple[tuple[str, ...], ...]
    make: Make


_TEMP = ("baro_temp_celcius", "baro_temp_celsius")
_AIRSPEED = ("calibrated_airspeed_m_s", "equivalent_airspeed_m_s", "indicated_airspeed_m_s")
_ACC = tuple((f"accelerometer_m_s2[{i}]",) for i in range(3))

_RULES: dict[str, tuple[_Source, ...]] = {
    "armed": (
        _Source("vehicle_status", (("arming_state",),), _arming_state),
        _Source("actuator_armed", (("armed",),), _flag),
    ),
    "landed": (_Source("vehicle_land_detected", (("landed",),), _flag),),
    "altitude": (
        _Source("vehicle_local_position", (("z",),), _negated),
        _Source("vehicle_global_position", (("alt",),), _relative),
        _Source("vehicle_air_data", (("baro_alt_meter",),), _relative),
        _Source("sensor_combined", (("baro_alt_meter",),), _relative),
    ),
    "climb": (
        _Source("vehicle_local_position", (("vz",),), _negated),
        _Source("vehicle_global_position", (("vel_d",),), _negated),
    ),
    "airspeed": (
        _Source("airspeed_validated", (_AIRSPEED,), _value),
        _Source("airspeed", (("indicated_airspeed_m_s",),), _value),
    ),
    "groundspeed": (
        _Source("vehicle_local_position", (("vx",), ("vy",)), _norm),
        _Source("vehicle_global_position", (("vel_n",), ("vel_e",)), _norm),
        _Source("vehicle_gps_position", (("vel_n_m_s",), ("vel_e_m_s",)), _norm),
    ),
    "accel": (
        _Source("sensor_combined", _ACC, _vector),
        _Source("sensor_accel", (("x",), ("y",), ("z",)), _vector),
    ),
    "temperature": (
        _Source("airspeed", (("air_temperature_celsius",),), _celsius),
        _Source("differential_pressure", (("temperature",),), _celsius),
        _Source(
            "vehicle_air_data",
            (("ambient_temperature",), ("temperature_source",)),
            _measured_ambient,
        ),
        _Source("vehicle_air_data", (_TEMP,), _celsius),
        _Source("sensor_combined", (_TEMP,), _celsius),
        _Source("sensor_baro", (("temperature",),), _celsius),
    ),
    "battery_v": (_Source("battery_status", (("voltage_v",),), _value),),
    "battery_a": (_Source("battery_status", (("current_a",),), _value),),
    "utc": (
        _Source("vehicle_gps_position", (("time_utc_usec",), ("fix_type",)), _utc_offset),
        _Source("sensor_gps", (("time_utc_usec",), ("fix_type",)), _utc_offset),
    ),
}


def _wanted() -> dict[str, frozenset[str]]:
    """topic -> every field any rule may read from it."""
    wanted: dict[str, frozenset[str]] = {}
    for sources in _RULES.values():
        for source in sources:
            names = {name for column in source.fields for name in column}
            wanted[source.topic] = wanted.get(source.topic, frozenset()) | names
    return wanted


_WANTED = _wanted()


# --- formats --------------------------------------------------------------------------------


class _FormatError(Exception):
    pass


#: a top-level field: (name, type (a ULog base type or a nested format), offset, array length
#: or 0 for a scalar). Nested types are not expanded: every field we read is top-level.
_Field = tuple[str, str, int, int]
_FIELD = r"\s*([^\s\[\];:]+)(?:\[(\d{1,6})\])?\s+([^\s;]+)\s*(?:;|\Z)"
_FIELDS = re.compile(_FIELD, re.ASCII)
_BODY = re.compile(r"(?:" + _FIELD + r")*\s*", re.ASCII)


@dataclass
class _Layout:
    fields: list[_Field]
    size: int  # full record size
    min_size: int  # without trailing padding (the logger may leave it out)

    def __post_init__(self) -> None:
        self._by_name = {f[0]: f for f in reversed(self.fields)}  # the first one wins

    def find(self, name: str) -> tuple[str, int] | None:
        """(base type, offset) of a scalar field or of one element ``name[i]`` of an array."""
        field = self._by_name.get(name)
        if field is not None:
            return (field[1], field[2]) if field[3] == 0 and field[1] in _BASE else None
        base, bracket, rest = name.partition("[")
        if not bracket or not rest.endswith("]") or not rest[:-1].isdigit():
            return None
        field = self._by_name.get(base)
        index = int(rest[:-1])
        if field is None or field[1] not in _BASE or not index < field[3]:
            return None
        return field[1], field[2] + index * _BASE[field[1]][1]


class _Formats:
    """The ``F`` definitions, kept raw and parsed only for the topics we look at."""

    def __init__(self) -> None:
        self.raw: dict[str, bytes] = {}
        self._layouts: dict[str, _Layout | _FormatError] = {}
        self._budget = _MAX_FIELDS  # bounds the work a hostile file can cause

    def add(self, payload: bytes) -> bool:
        name, colon, body = payload.partition(b":")
        if not colon or not name:
            return False
        self.raw[name.decode("utf-8", "replace")] = body
        self._layouts.clear()  # a late definition may change the nested sizes
        return True

    def timestamp_offset(self, name: str) -> int:
        """Byte offset of the top-level uint64 ``timestamp``, -1 when there is none."""
        body = self.raw.get(name)
        if body is None:
            return -1
        if body.startswith(b"uint64_t timestamp;"):
            return 0
        try:
            found = self.layout(name).find("timestamp")
        except _FormatError:
            return -1
        return found[1] if found is not None and found[0] == "uint64_t" else -1

    def layout(self, name: str, depth: int = 0) -> _Layout:
        layout = self._layouts.get(name)
        if layout is None:
            try:
                layout = self._compute(name, depth)
            except _FormatError as e:
                layout = e
            self._layouts[name] = layout
        if isinstance(layout, _FormatError):
            raise layout
        return layout

    def _compute(self, name: str, depth: int) -> _Layout:
        if depth > _MAX_DEPTH:
            raise _FormatError(f"format {name!r} nests too deep (recursive?)")
        raw = self.raw.get(name)
        if raw is None:
            raise _FormatError(f"no format definition for {name!r}")
        body = raw.decode("utf-8", "replace")
        if _BODY.fullmatch(body) is None:
            raise _FormatError(f"unreadable format definition for {name!r}")
        fields: list[_Field] = []
        offset = min_size = 0
        for ftype, raw_count, fname in _FIELDS.findall(body):
            self._budget -= 1
            if self._budget < 0:
                raise _FormatError("too many fields in the file's formats")
            count = int(raw_count) if raw_count else 0
            if raw_count and not 0 < count <= 0xFFFF:
                raise _FormatError(f"bad array length {count} in format {name!r}")
            base = _BASE.get(ftype)
            size = base[1] if base is not None else self.layout(ftype, depth + 1).size
            fields.append((fname, ftype, offset, count))
            offset += size * (count or 1)
            if offset > 0xFFFF:
                raise _FormatError(f"format {name!r} is larger than a ULog message")
            if not fname.startswith("_padding"):
                min_size = offset
        return _Layout(fields, offset, min_size)


# --- kept topics ----------------------------------------------------------------------------


class _Topic:
    """A topic we decode (instance 0): its wanted fields, gathered chunk by chunk."""

    def __init__(self, name: str, layout: _Layout, wanted: frozenset[str]) -> None:
        self.name = name
        found: dict[str, tuple[str, int]] = {}
        for field in ["timestamp", *sorted(wanted)]:
            spot = layout.find(field)
            if spot is not None:
                found[field] = spot
        names = list(found)
        formats = [_BASE[t][0] for t, _ in found.values()]
        offsets = [o for _, o in found.values()]
        self.span = max(o + _BASE[t][1] for t, o in found.values())
        self.view_dtype = np.dtype(
            {"names": names, "formats": formats, "offsets": offsets, "itemsize": self.span}
        )
        self.names = names
        self.raw = np.dtype(f"V{self.span}")
        self.view: AnyArray = np.zeros(0, self.raw)
        self.parts: list[list[AnyArray]] = []  # per decoded chunk, a column per name

    def bind(self, buf: npt.NDArray[np.uint8]) -> None:
        """A view with a record starting at every byte of the chunk buffer: ``view[i]`` is the
        record whose payload (after the msg_id) starts at byte ``i``. It is of an opaque
        (void) dtype because numpy gathers those with a plain copy, 4x faster than records."""
        self.view = np.ndarray((len(buf) - self.span + 1,), self.raw, buf, 0, (1,))

    def take(self, starts: I64) -> None:
        records = self.view[starts].view(self.view_dtype)
        self.parts.append([records[name].copy() for name in self.names])


@dataclass
class _TopicData:
    t: I64
    columns: dict[str, AnyArray]


def _merge(topics: list[_Topic]) -> _TopicData | None:
    """All samples of one topic (possibly subscribed more than once), in time order."""
    topics = [t for t in topics if t.parts and t.names == topics[0].names]
    if not topics:
        return None
    parts = [part for topic in topics for part in topic.parts]
    for topic in topics:
        topic.parts = []
    columns: dict[str, AnyArray] = {}
    for i, name in enumerate(topics[0].names):
        columns[name] = np.concatenate([part[i] for part in parts])
        for part in parts:
            part[i] = columns[name][:0]  # frees the piece: memory stays about one copy
    t = columns.pop("timestamp").view(np.int64)  # > 2**63 (damage) turns negative: dropped
    keep = t > 0
    if not keep.all():
        t = t[keep]
        columns = {n: c[keep] for n, c in columns.items()}
    if t.size > 1 and bool(np.any(t[1:] < t[:-1])):
        order = np.argsort(t, kind="stable")
        t = t[order]
        columns = {n: c[order] for n, c in columns.items()}
    return _TopicData(t, columns)


# --- the reader -----------------------------------------------------------------------------


def _info(payload: bytes, start: int) -> tuple[str, str, object] | None:
    """(name, type, value) of an I/M/P/Q payload whose key length byte is at ``start``."""
    if len(payload) <= start:
        return None
    end = start + 1 + payload[start]
    if end > len(payload):
        return None
    ftype, _, name = payload[start + 1 : end].decode("utf-8", "replace").partition(" ")
    if not name:
        return None
    raw = payload[end:]
    value: object = raw
    if ftype.startswith("char["):
        value = raw.decode("utf-8", "replace")
    elif ftype in _BASE and len(raw) == _BASE[ftype][1]:
        value = struct.unpack("<" + _BASE[ftype][2], raw)[0]
    return name, ftype, value


class _Reader:
    """One pass over a ULog file: :meth:`run` reads it, :meth:`result` gives the series;
    ``info``, :meth:`parameters`, :meth:`default_parameters`, :meth:`info_multiple`, the
    counters and ``warnings`` describe the rest of it."""

    def __init__(self, f: io.RawIOBase, chunk_size: int) -> None:
        self.f = f
        self.file_size = os.fstat(f.fileno()).st_size
        # the chunk buffer: a numpy array (no zero-filling), walked through a memoryview
        self.u8: npt.NDArray[np.uint8] = np.zeros(0, np.uint8)
        self.buf = self.u8.data
        self.base = 0  # file offset of buf[0]
        self.have = 0  # valid bytes in buf
        self.p = 0  # parse position in buf
        self.eof = False
        self.read_bytes = 0
        self.definitions = True
        self.saw_b = False
        self.resync_from = -1  # file offset where a corrupt stretch began, -1 when in sync
        self.boundaries: list[int] = []  # appended-data offsets still ahead

        self.header_timestamp = 0
        self.version = 0
        self.formats = _Formats()
        self.info: dict[str, object] = {}
        self.info_types: dict[str, str] = {}
        self._info_multiple_messages: list[bytes] = []
        self._initial_params: list[bytes] = []
        self._param_changes: list[tuple[int, bytes]] = []
        self._default_param_messages: list[bytes] = []
        self.subscriptions: dict[int, tuple[str, int]] = {}
        self.topics: list[_Topic] = []
        self.log_messages = 0
        self.syncs = 0
        self.dropouts = 0
        self.dropout_ms = 0
        self.unknown_types: dict[int, int] = {}
        self.bad_records = 0
        self.unsubscribed_records = 0
        self.malformed: dict[str, int] = {}
        self.warnings: list[str] = []
        self.first_t = -1
        self.last_t = -1

        # D records seen but not decoded yet: runs of the candidate index, lone records
        self.cand: I64 = np.zeros(0, np.int64)  # candidate D records (buffer offsets)
        self.after: I64 = self.cand  # where each candidate ends
        self.last: I64 = self.cand  # index in cand of the last record of each run
        self.runs: dict[int, tuple[int, int, int]] = {}  # first offset -> first, last, end
        self.pending_runs: list[int] = []  # flat (first, last) candidate indices
        self.pending: list[int] = []  # buffer offsets of lone D records
        # per msg_id: timestamp offset, payload size range, index in self.topics (or -1)
        self.ts_lut = np.full(1 << 16, -1, np.int32)
        self.min_lut = np.full(1 << 16, _NO_SUB, np.int32)
        self.max_lut = np.full(1 << 16, -1, np.int32)
        self.kept_lut = np.full(1 << 16, -1, np.int16)
        self.odd_ts = False  # some subscribed topic has its timestamp elsewhere than first
        self.capacity = 0
        self._allocate(max(min(int(chunk_size), self.file_size + 1), 64))

    # buffer management

    def _allocate(self, capacity: int) -> None:
        old, have = self.u8, self.have
        self.capacity = capacity
        size = capacity + _SLACK
        self.u8 = np.empty(size, np.uint8)
        self.u8[:have] = old[:have]
        self.u8[capacity:] = 0
        self.buf = self.u8.data  # a memoryview: fast int indexing
        self.u16 = np.ndarray((size - 1,), "<u2", self.u8, 0, (1,))
        self.u64 = np.ndarray((size - 7,), "<u8", self.u8, 0, (1,))
        head = np.dtype(f"V{_D_HEAD.itemsize}")
        self.heads = np.ndarray((size - _D_HEAD.itemsize + 1,), head, self.u8, 0, (1,))
        self.scratch = np.empty(min(size, _WINDOW) + _MAX_RECORD, bool)
        for topic in self.topics:
            if topic.span <= size:
                topic.bind(self.u8)

    def _fill(self) -> None:
        while self.have < self.capacity:
            n = self.f.readinto(self.buf[self.have : self.capacity])
            if not n:
                self.eof = True
                break
            self.have += n
            self.read_bytes += n

    def _compact(self) -> None:
        rest = self.have - self.p
        if rest and self.p:
            self.u8[:rest] = self.u8[self.p : self.have]
        self.base += self.p
        self.have = rest
        self.p = 0
        if self.have == self.capacity:  # one message larger than the buffer
            self._allocate(max(2 * self.capacity, _MAX_RECORD + 8))

    def _limit(self) -> int:
        """Where parsing must stop in the buffer: its end, or the next appended-data offset."""
        if self.boundaries:
            return min(self.have, self.boundaries[0] - self.base)
        return self.have

    # main loop

    def run(self) -> None:
        self._fill()
        if self.have < _HEADER or not sniff(bytes(self.buf[:8])):
            kind = "too short" if self.have < _HEADER else "no ULog magic bytes"
            raise LogError(f"not a PX4 ULog file ({kind})")
        self.version = self.buf[7]
        self.header_timestamp = int(self.u64[8])
        self.p = _HEADER
        while True:
            self._parse()
            self._flush()
            if self.boundaries and self.boundaries[0] - self.base <= self.have:
                self._cross_boundary()
                continue
            if self.eof:
                # a message running past the end: truncation, or a damaged size when a sync
                # marker follows it (in which case we go on from there)
                tail = self.buf[self.p + 3 : self.have].tobytes()
                if self.definitions or self.resync_from >= 0 or SYNC not in tail:
                    break
                self.resync_from = self.base + self.p
                continue
            self._compact()
            self._fill()
        self._finish()

    def _cross_boundary(self) -> None:
        at = self.boundaries.pop(0)
        cut = at - self.base - self.p
        if self.resync_from >= 0:
            self._corrupt_warning(at)
        elif cut > 0:
            self.warnings.append(
                f"incomplete message before the data appended at byte {at} ({cut} bytes ignored)"
            )
        self.p = at - self.base

    def _index(self, start: int, end: int) -> None:
        """Find the runs of consecutive D records in ``buf[start:end]`` with numpy.

        A candidate is a byte whose type byte is 'D' and whose successor (at ``+3 + size``)
        is a candidate too; a run is a chain of candidates each starting where the previous
        one ends. The walk in :meth:`_parse` follows the real message chain and, landing on
        the first record of a run, takes the whole run at once: a stray 'D' byte inside a
        record only splits a run, it can never be taken as a record.
        """
        self._flush()
        self.runs = {}
        self.cand = self.after = self.last = np.zeros(0, np.int64)
        if end - start < 8:
            return
        # is_d[i]: a 'D' type byte for a record at start + i; False past end - 3, as far as
        # a record can reach, so that any successor can be looked up without clipping
        n = end - start - 2
        if self.scratch.size < n + _MAX_RECORD:
            self.scratch = np.empty(n + _MAX_RECORD, bool)
        is_d = self.scratch[: n + _MAX_RECORD]
        np.equal(self.u8[start + 2 : end], 68, out=is_d[:n])
        is_d[n - 1 : n + _MAX_RECORD] = False
        cand = np.flatnonzero(is_d[: n - 1])
        if cand.size < 2:
            return
        after = cand + 3 + self.u16[cand + start]  # relative to start, like cand
        linked = is_d[after]
        cand, after = cand[linked], after[linked]
        cand += start
        after += start
        if not cand.size:
            return
        last = np.flatnonzero(after[:-1] != cand[1:])
        last = np.append(last, cand.size - 1)
        first = np.empty_like(last)
        first[0] = 0
        first[1:] = last[:-1] + 1
        self.cand, self.after, self.last = cand, after, last
        self.runs = dict(
            zip(
                cand[first].tolist(),
                zip(first.tolist(), last.tolist(), after[last].tolist(), strict=True),
                strict=True,
            )
        )

    def _parse(self) -> None:
        """Parse the complete messages in the buffer, a window at a time (numpy's work on a
        window stays in the CPU caches: 16 MiB at once is slower than 16 windows of 1 MiB)."""
        while True:
            limit, start = self._limit(), self.p
            end = min(limit, start + _WINDOW)
            self._parse_window(end)
            if end >= limit:
                return
            if self.p == start:  # a message longer than the window (not with 1 MiB ones)
                self._parse_window(limit)
                return

    def _parse_window(self, end: int) -> None:
        b = self.buf
        self._index(self.p, end)
        if self.resync_from >= 0 and not self._resync(end):
            return
        run_at = self.runs.get
        runs = self.pending_runs
        append = self.pending.append
        p = self.p
        while True:
            run = run_at(p)
            if run is not None:
                runs.append(run[0])
                runs.append(run[1])
                p = run[2]
                continue
            if p + 3 > end:
                break
            q = p + 3 + (b[p] | (b[p + 1] << 8))
            if q > end:
                break
            kind = b[p + 2]
            if kind in _RAW_KINDS and self.definitions:
                p = self._raw_definitions(p, end)
                continue
            if kind == 83 and not self.definitions:  # 'S': sync markers, every second or so
                self.syncs += 1
                p = q
                continue
            if kind == 76 and not self.definitions and q - p >= 12:  # 'L': log strings
                self.log_messages += 1
                p = q
                continue
            if kind == 68:  # 'D', not the first of a run
                # inside a run? (when a stray 'D' byte chained onto this record: rare)
                k = -1
                if q + 3 <= end and b[q + 2] == 68:
                    k = int(np.searchsorted(self.cand, p))
                if 0 <= k < self.cand.size and self.cand[k] == p:
                    last = int(self.last[np.searchsorted(self.last, k)])
                    runs.append(k)
                    runs.append(last)
                    p = int(self.after[last])
                else:
                    append(p)
                    p = q
                continue
            self.p = p
            self._message(kind, p, q)
            if kind == 66 and self.boundaries:  # 'B' with appended data: a nearer limit
                end = min(end, self._limit())
                self._index(q, end)
                run_at = self.runs.get
            if self.resync_from >= 0:
                if not self._resync(end):
                    return
                p = self.p
            else:
                p = q
        self.p = p

    def _raw_definitions(self, p: int, end: int) -> int:
        """Step over a block of P, Q, M and F messages (a thousand or so): kept raw, parsed
        on demand. Returns where the block ends."""
        b = self.buf
        params = self._initial_params.append
        defaults = self._default_param_messages.append
        multiple = self._info_multiple_messages.append
        add_format = self.formats.add
        while p + 3 <= end:
            q = p + 3 + (b[p] | (b[p + 1] << 8))
            if q > end:
                break
            kind = b[p + 2]
            if kind == 80:  # 'P'
                params(b[p + 3 : q].tobytes())
            elif kind == 81:  # 'Q'
                defaults(b[p + 3 : q].tobytes())
            elif kind == 77:  # 'M'
                multiple(b[p + 3 : q].tobytes())
            elif kind == 70:  # 'F'
                if not add_format(b[p + 3 : q].tobytes()):
                    self._malformed("F")
            else:
                break
            p = q
        return p

    def _resync(self, end: int) -> bool:
        """Skip to just after the next sync marker; False when it is not in this buffer."""
        start = min(self.p, end)
        found = self.buf[start:end].tobytes().find(SYNC)
        if found >= 0:
            found += start
        else:
            self.p = max(self.p, end - len(SYNC) + 1)
            return False
        self.warnings.append(
            f"corrupt data at byte {self.resync_from}: "
            f"skipped {self.base + found - self.resync_from} bytes to the next sync marker"
        )
        self.resync_from = -1
        self.p = found + len(SYNC)
        return True

    def _corrupt_warning(self, until: int) -> None:
        self.warnings.append(
            f"corrupt data from byte {self.resync_from} with no sync marker after it: "
            f"{until - self.resync_from} bytes ignored"
        )
        self.resync_from = -1

    # non-data messages

    def _message(self, kind: int, p: int, q: int) -> None:
        at = self.base + p
        payload = self.buf[p + 3 : q].tobytes()
        if self.definitions and kind not in _DEFINITION_TYPES:
            if kind not in _DATA_START_TYPES:
                raise LogError(
                    f"not a readable ULog file: message type {kind} ({chr(kind)!r}) at byte {at} "
                    "in the definitions section"
                )
            self.definitions = False
        if kind == 80:  # 'P'
            if self.definitions:
                self._initial_params.append(payload)
            else:
                self._flush()  # brings last_t up to this point
                self._param_changes.append((self.last_t, payload))
        elif kind == 70:  # 'F'
            if not self.formats.add(payload):
                self._malformed("F")
        elif kind == 65:  # 'A'
            self._subscribe(payload, at)
        elif kind == 82:  # 'R'
            if len(payload) < 2:
                self._malformed("R")
            else:
                self._flush()
                self._unsubscribe(payload[0] | (payload[1] << 8))
        elif kind in (76, 67):  # 'L', 'C'
            if len(payload) < (9 if kind == 76 else 11):
                self._malformed(chr(kind))
            self.log_messages += 1
        elif kind == 83:  # 'S'
            self.syncs += 1
        elif kind == 79:  # 'O'
            if len(payload) < 2:
                self._malformed("O")
            else:
                self.dropouts += 1
                self.dropout_ms += payload[0] | (payload[1] << 8)
        elif kind == 73:  # 'I'
            self._info(payload)
        elif kind == 77:  # 'M'
            self._info_multiple_messages.append(payload)
        elif kind == 81:  # 'Q'
            self._default_param_messages.append(payload)
        elif kind == 66:  # 'B'
            self._flag_bits(payload, at)
        elif 65 <= kind <= 90 and q > p + 3:
            self.unknown_types[kind] = self.unknown_types.get(kind, 0) + 1
        else:
            self._flush()
            self.resync_from = at

    def _malformed(self, kind: str) -> None:
        self.malformed[kind] = self.malformed.get(kind, 0) + 1

    def _info(self, payload: bytes) -> None:
        parsed = _info(payload, 0)
        if parsed is None:
            self._malformed("I")
            return
        name, ftype, value = parsed
        self.info[name] = value
        self.info_types[name] = ftype

    def info_multiple(self) -> dict[str, list[list[object]]]:
        """``M`` infos (boot console, perf counters...): name -> messages -> parts."""
        out: dict[str, list[list[object]]] = {}
        for payload in self._info_multiple_messages:
            parsed = _info(payload, 1)
            if parsed is None:
                continue
            name, _, value = parsed
            values = out.setdefault(name, [])
            if payload[0] and values:
                values[-1].append(value)
            else:
                values.append([value])
        return out

    def _flag_bits(self, payload: bytes, at: int) -> None:
        if len(payload) < 16:
            raise LogError(f"malformed ULog flag bits message at byte {at}")
        if self.saw_b or at != _HEADER:
            self.warnings.append(f"flag bits message at byte {at} is not the first: ignored")
            return
        self.saw_b = True
        incompat = payload[8:16]
        if incompat[0] & ~1 or any(incompat[1:]):
            raise LogError(
                f"ULog incompatible flags {incompat.hex()} set: written by a newer logger, "
                "cannot be read"
            )
        if not incompat[0] & 1:
            return
        tail = payload[16:40].ljust(24, b"\0")
        offsets = [o for o in struct.unpack("<3Q", tail) if o]
        last = at + 3 + len(payload)
        for offset in offsets:
            if offset < last or offset > self.file_size:
                self.warnings.append(f"appended data offset {offset} is outside the file: ignored")
                break
            self.boundaries.append(offset)
            last = offset

    def _subscribe(self, payload: bytes, at: int) -> None:
        if len(payload) < 4:
            self._malformed("A")
            return
        multi_id, msg_id = payload[0], payload[1] | (payload[2] << 8)
        name = payload[3:].decode("utf-8", "replace")
        if msg_id in self.subscriptions:
            # records already seen belong to the old subscription. (A msg_id new to the log
            # needs no flush: a valid log has no record of it before its subscription.)
            self._flush()
            self._unsubscribe(msg_id)
        self.subscriptions[msg_id] = (name, multi_id)
        if name not in self.formats.raw:
            self.warnings.append(f"subscription to {name!r} (byte {at}) has no format: skipped")
            return
        ts = self.formats.timestamp_offset(name)
        self.ts_lut[msg_id] = ts
        self.odd_ts = self.odd_ts or ts != 0
        self.min_lut[msg_id] = max(ts + 8, 0)
        self.max_lut[msg_id] = 0xFFFF
        wanted = _WANTED.get(name)
        if wanted is None or multi_id != 0 or ts < 0:
            return
        try:
            layout = self.formats.layout(name)
        except _FormatError as e:
            self.warnings.append(f"format of {name!r} is unreadable ({e}): topic skipped")
            return
        topic = _Topic(name, layout, wanted)
        if topic.span > layout.min_size:  # a field beyond the shortest record: impossible
            return
        # a topic subscribed again (same format) keeps collecting into the same object
        same = (t for t in self.topics if t.name == name and t.view_dtype == topic.view_dtype)
        index = next((self.topics.index(t) for t in same), len(self.topics))
        if index == len(self.topics):
            if index >= _MAX_TOPICS:
                self.warnings.append(f"too many subscriptions: {name!r} (byte {at}) skipped")
                return
            self.topics.append(topic)
            if topic.span <= self.u8.size:  # else bound when the buffer grows
                topic.bind(self.u8)
        self.kept_lut[msg_id] = index
        self.min_lut[msg_id] = layout.min_size
        self.max_lut[msg_id] = layout.size

    def _unsubscribe(self, msg_id: int) -> None:
        self.subscriptions.pop(msg_id, None)
        self.ts_lut[msg_id] = -1
        self.min_lut[msg_id] = _NO_SUB
        self.max_lut[msg_id] = -1
        self.kept_lut[msg_id] = -1

    # data messages

    def _flush(self) -> None:
        """Decode the pending D records of this buffer, all at once."""
        if not self.pending and not self.pending_runs:
            return
        pieces: list[I64] = []
        if self.pending_runs:
            bounds = np.array(self.pending_runs, np.int64)
            self.pending_runs.clear()
            marks = np.zeros(self.cand.size + 1, np.int8)
            marks[bounds[0::2]] += 1  # runs never overlap: no repeated index in either
            marks[bounds[1::2] + 1] -= 1
            pieces.append(self.cand[np.cumsum(marks[:-1]) > 0])
        if self.pending:
            pieces.append(np.array(self.pending, np.int64))
            self.pending.clear()
        # not in file order when there are both: sorted below, per kept topic
        offsets = pieces[0] if len(pieces) == 1 else np.concatenate(pieces)
        heads = self.heads[offsets].view(_D_HEAD)
        sizes = heads["size"].astype(np.int32) - 2
        ids = heads["id"]
        low = self.min_lut[ids]
        ok = (sizes >= low) & (sizes <= self.max_lut[ids])
        kept = self.kept_lut[ids]
        bad = int(ok.size - np.count_nonzero(ok))
        if bad:
            unsubscribed = int(np.count_nonzero(low == _NO_SUB))
            self.unsubscribed_records += unsubscribed
            self.bad_records += bad - unsubscribed
            offsets, ids, heads, kept = offsets[ok], ids[ok], heads[ok], kept[ok]
        stamps = heads["ts"]
        if self.odd_ts:  # a topic whose timestamp is not its first field, or has none
            ts_off = self.ts_lut[ids]
            later = np.flatnonzero(ts_off > 0)
            stamps = stamps.copy()
            stamps[later] = self.u64[offsets[later] + 5 + ts_off[later]]
            stamps = stamps[ts_off >= 0]
        if stamps.size:
            self.last_t = max(self.last_t, min(int(stamps.max()), (1 << 63) - 1))
            nonzero = stamps[stamps != 0]
            if nonzero.size:
                first = min(int(nonzero.min()), (1 << 63) - 1)
                self.first_t = first if self.first_t < 0 else min(self.first_t, first)
        mine = np.flatnonzero(kept >= 0)
        if not mine.size:
            return
        offsets, kept = offsets[mine], kept[mine]
        order = np.argsort(kept, kind="stable")  # a radix sort: kept is int16
        offsets = offsets[order] + 5
        counts = np.bincount(kept, minlength=len(self.topics))
        cuts = np.cumsum(counts).tolist()
        start = 0
        for k, stop in enumerate(cuts):
            if stop > start:
                offs = offsets[start:stop]
                self.topics[k].take(np.sort(offs) if len(pieces) > 1 else offs)
            start = stop

    # results

    def _finish(self) -> None:
        end = self.base + self.have
        if self.resync_from >= 0:
            self._corrupt_warning(end)
        elif self.p < self.have:
            at = self.base + self.p
            if self.definitions:
                raise LogError(
                    f"ULog file cut inside its definitions section (at byte {at} of {end})"
                )
            self.warnings.append(
                f"file truncated: incomplete message at byte {at} ({end - at} bytes ignored)"
            )
        if self.definitions:
            if not self.formats.raw:
                raise LogError("ULog file has no message formats and no data")
            self.warnings.append("ULog file has no data section (logging stopped at once?)")
        if self.dropouts:
            self.warnings.append(
                f"{self.dropouts} dropouts: {self.dropout_ms} ms of data lost in total"
            )
        if self.unsubscribed_records:
            self.warnings.append(
                f"{self.unsubscribed_records} data messages for unknown msg_ids skipped"
            )
        if self.bad_records:
            self.warnings.append(f"{self.bad_records} data messages of the wrong size skipped")
        for kind, n in sorted(self.unknown_types.items()):
            self.warnings.append(f"{n} messages of unknown type {chr(kind)!r} skipped")
        for kinds, n in sorted(self.malformed.items()):
            self.warnings.append(f"{n} malformed {kinds!r} messages skipped")

    def parameters(self) -> dict[str, object]:
        """Parameter values at the end of the log (initial ones updated by later changes)."""
        params: dict[str, object] = {}
        for payload in [*self._initial_params, *(m for _, m in self._param_changes)]:
            parsed = _info(payload, 0)
            if parsed is not None:
                params[parsed[0]] = parsed[2]
        return params

    def default_parameters(self) -> dict[int, dict[str, object]]:
        """Defaults by type bit (0: system defaults, 1: current setup) -> name -> value."""
        out: dict[int, dict[str, object]] = {}
        for payload in self._default_param_messages:
            parsed = _info(payload, 1)
            if parsed is None:
                continue
            for bit in range(8):
                if payload[0] & (1 << bit):
                    out.setdefault(bit, {})[parsed[0]] = parsed[2]
        return out

    def series(self) -> dict[str, tuple[I64, F64]]:
        groups: dict[str, list[_Topic]] = {}
        for topic in self.topics:
            groups.setdefault(topic.name, []).append(topic)
        merged: dict[str, _TopicData | None] = {}

        def candidate(source: _Source) -> tuple[I64, F64] | None:
            if source.topic not in merged:
                merged[source.topic] = _merge(groups.get(source.topic, []))
            data = merged[source.topic]
            if data is None:
                return None
            columns: list[AnyArray] = []
            for names in source.fields:
                name = next((n for n in names if n in data.columns), None)
                if name is None:
                    return None
                columns.append(data.columns[name])
            t, v = source.make(data.t, columns)
            return (t, v) if t.size else None

        out: dict[str, tuple[I64, F64]] = {}
        for key, sources in _RULES.items():
            for source in sources:
                found = candidate(source)
                if found is None:
                    continue
                if key not in out:
                    out[key] = found  # all-NaN: kept only when no other source has numbers
                if np.isfinite(found[1]).any():
                    out[key] = found
                    break
        return out

    def vehicle_id(self) -> str | None:
        uuid = self.info.get("sys_uuid")
        if isinstance(uuid, bytes):
            uuid = uuid.hex()
        if isinstance(uuid, str) and uuid.strip("\0 "):
            return uuid.strip("\0 ")
        parts = [self.info.get(k) for k in ("ver_hw", "sys_name")]
        text = " ".join(str(v).strip("\0 ") for v in parts if isinstance(v, str) and v.strip())
        return text or None

    def result(self) -> LogData:
        with np.errstate(all="ignore"):  # signalling NaNs and such in damaged data
            series = self.series()

        def get(key: str, width: int = 0) -> Series:
            if key not in series:
                return Series.empty(width)
            return Series(*series[key])

        speed, kind = get("airspeed"), "air"
        if not np.isfinite(speed.v).any():  # no airspeed sensor (or one reading NaN)
            speed, kind = get("groundspeed"), "ground"
        utc = series.get("utc")
        # the log starts at its header's timestamp, as pyulog reads it (PX4 may log samples
        # stamped a little before it); a header without one: the first data record
        first = self.header_timestamp if self.header_timestamp > 0 else max(self.first_t, 0)
        last = self.last_t if self.last_t >= 0 else self.header_timestamp
        return LogData(
            format="ulog",
            start_us=int(utc[1][0]) if utc is not None else None,
            first_t=first,
            last_t=max(last, first),
            vehicle_id=self.vehicle_id(),
            armed=get("armed"),
            landed=get("landed"),
            altitude=get("altitude"),
            climb=get("climb"),
            speed=speed,
            speed_kind=kind if len(speed) else "",
            accel=get("accel", 3),
            temperature=get("temperature"),
            battery_v=get("battery_v"),
            battery_a=get("battery_a"),
            warnings=self.warnings,
            size=self.read_bytes,
        )


@contextmanager
def _no_slips(reader: _Reader) -> Iterator[None]:
    """A safety net: malformed input must never surface as anything but LogError."""
    try:
        yield
    except LogError:
        raise
    except (IndexError, KeyError, ValueError, struct.error, OverflowError, MemoryError) as e:
        at = reader.base + reader.p
        raise LogError(f"malformed ULog data near byte {at} ({type(e).__name__}: {e})") from e


def _run(path: str | os.PathLike[str], chunk_size: int = 1 << 24) -> _Reader:
    """Read the whole file; the reader keeps info, parameters... beside the series."""
    try:
        f = open(path, "rb", buffering=0)  # noqa: SIM115 (closed below)
    except OSError as e:
        raise LogError(f"cannot open {os.fspath(path)!r}: {e.strerror or e}") from e
    with f:
        reader = _Reader(f, chunk_size)
        try:
            with _no_slips(reader):
                reader.run()
        except OSError as e:
            raise LogError(f"cannot read {os.fspath(path)!r}: {e.strerror or e}") from e
    return reader


def read(path: str | os.PathLike[str], *, chunk_size: int = 1 << 24) -> LogData:
    """Stream a PX4 ULog file and return its standard series (see the module docstring).

    ``chunk_size`` is the read buffer in bytes (numpy works on 1 MiB windows of it); memory
    is about that plus the kept series. Raises :class:`LogError` for anything that is not a
    readable ULog file.
    """
    reader = _run(path, chunk_size)
    with _no_slips(reader):
        return reader.result()
