"""Streaming PX4 ULog reader: keeps only the series of :class:`~kanat.flightlogs.base.LogData`.

How: the file is read in chunks (``readinto`` into one reused buffer, 16 MiB by default). A
compiled loop (:mod:`kanat.flightlogs._ulogscan`, numba, imported by the first read) follows
the message chain, a 1 MiB window per call: it checks each data (``D``) message against a
per-msg_id table (its size, its topic), folds its timestamp into the log's first and last
ones and lists the records of the kept topics; it counts sync markers, log strings and
dropouts itself and lists the other messages (definitions, subscriptions, infos...) for
Python, which handles them in file order before the walk takes another data message (a
subscription changes the table). It hands over at a message Python must see at once (the
section change, flag bits, anything needing a resync) and stops at the first message the
window or the file cuts, so that the resync, appended-data and truncation logic below is the
chunk loop's. The listed records are then gathered with one numpy index per topic (from a
view of the buffer with a record at every byte) and decoded with structured dtypes built from
the log's own format definitions. What we do not need (parameters, multi-part infos, formats
of other topics) is kept raw and parsed on demand. Memory: the buffer (a chunk) plus the kept
fields of the kept topics, whatever the size of the file.

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
import mmap
import os
import re
import struct
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np
import numpy.typing as npt

from kanat.flightlogs.base import F64, I64, LogData, LogError, Series

MAGIC = b"ULog\x01\x12\x35"
SYNC = b"\x2f\x73\x13\x20\x25\x0c\xbb\x12"

_HEADER = 16
_MAX_RECORD = 3 + 0xFFFF  # a message header plus the largest payload a uint16 size allows
_WINDOW = 1 << 20  # bytes walked at once (at most a window of kept records listed per walk)
_SLACK = 16  # bytes after the data in the buffer, so fixed-size views never run off its end
# kept records listed before they are gathered: a few thousand at first, more when a log
# has more (small arrays for small logs: large transient ones make the allocator hand out
# fresh pages, the chunk buffer's too, which then cost more to fault in than to read)
_KEPT_CAPACITY = (1 << 12, 1 << 16)
_EVENTS_CAPACITY = 1 << 12  # messages listed for Python before they are handled
_MANY_EVENTS = 32  # from this many on, numpy sorts them (fewer: a plain loop is quicker)
# the compiled walk's state slots and results (kanat.flightlogs._ulogscan, which imports
# numba: loaded by the first reader; tests/flightlogs/test_ulogscan.py checks they agree)
_S_SYNCS, _S_LOG_MESSAGES, _S_DROPOUTS, _S_DROPOUT_MS = 0, 1, 2, 3
_S_BAD_RECORDS, _S_UNSUBSCRIBED, _S_FIRST_T, _S_LAST_T, _S_KEPT, _S_EVENTS = 4, 5, 6, 7, 8, 9
_STATE_SIZE = 10
_END, _MESSAGE, _FULL = 0, 1, 2
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

_SIZES = {name: size for name, (_, size, _) in _BASE.items()}

_DEFINITION_TYPES = frozenset(b"BFIMPQ")
_DATA_START_TYPES = frozenset(b"ALCOSR")

AnyArray = npt.NDArray[Any]
Make = Callable[[I64, list[AnyArray]], tuple[I64, F64]]


_SCAN: ModuleType | None = None


def _scan() -> ModuleType:
    """The compiled walk (imports numba, the first time only)."""
    global _SCAN
    if _SCAN is None:
        from kanat.flightlogs import _ulogscan

        _SCAN = _ulogscan
    return _SCAN


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


def _wanted() -> dict[str, tuple[str, ...]]:
    """topic -> ``timestamp`` and every field any rule may read from it (sorted)."""
    wanted: dict[str, frozenset[str]] = {}
    for sources in _RULES.values():
        for source in sources:
            names = {name for column in source.fields for name in column}
            wanted[source.topic] = wanted.get(source.topic, frozenset()) | names
    return {topic: ("timestamp", *sorted(names)) for topic, names in wanted.items()}


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


def _usual_layout(body: str) -> tuple[dict[str, _Field], int, int, int] | None:
    """(fields by name, size, min_size, number of fields) of a body written the usual way
    (``type name;`` each, base types only, single spaces, printable ASCII) that
    :meth:`_Formats._compute` would accept, in a fraction of its time; None for anything
    else (which it then reads, or refuses)."""
    if not body or body[-1] != ";" or not body.isascii() or not body.isprintable():
        return None
    if ":" in body:
        return None
    sizes = _SIZES
    fields: dict[str, _Field] = {}
    offset = min_size = 0
    parts = body[:-1].split(";")
    for part in parts:
        ftype, _, fname = part.partition(" ")
        size = sizes.get(ftype)
        count = 0
        if size is None:  # an array, a nested type, anything odd
            ftype, bracket, digits = ftype.partition("[")
            size = sizes.get(ftype)
            if size is None or not bracket or digits[-1:] != "]" or not 1 < len(digits) <= 7:
                return None
            digits = digits[:-1]
            if not digits.isdigit():
                return None
            count = int(digits)
            if not 0 < count <= 0xFFFF:
                return None
        if not fname or " " in fname:
            return None
        fields.setdefault(fname, (fname, ftype, offset, count))
        offset += size * count if count else size
        if fname[:8] != "_padding":
            min_size = offset
    return (fields, offset, min_size, len(parts)) if offset <= 0xFFFF else None


@dataclass
class _Layout:
    by_name: dict[str, _Field]  # the first field of each name
    size: int  # full record size
    min_size: int  # without trailing padding (the logger may leave it out)

    def find(self, name: str) -> tuple[str, int] | None:
        """(base type, offset) of a scalar field or of one element ``name[i]`` of an array."""
        field = self.by_name.get(name)
        if field is not None:
            return (field[1], field[2]) if field[3] == 0 and field[1] in _BASE else None
        base, bracket, rest = name.partition("[")
        if not bracket or not rest.endswith("]") or not rest[:-1].isdigit():
            return None
        field = self.by_name.get(base)
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
        self.changed()
        return True

    def changed(self) -> None:
        """After definitions were added to ``raw``: a late one may change nested sizes."""
        self._layouts.clear()

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
        usual = _usual_layout(body)
        if usual is not None and usual[3] <= self._budget:  # no error, no nesting
            self._budget -= usual[3]
            return _Layout(*usual[:3])
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
        return _Layout({f[0]: f for f in reversed(fields)}, offset, min_size)


# --- kept topics ----------------------------------------------------------------------------


class _Topic:
    """A topic we decode (instance 0): its wanted fields, gathered chunk by chunk."""

    def __init__(self, name: str, layout: _Layout, wanted: tuple[str, ...]) -> None:
        self.name = name
        found: dict[str, tuple[str, int]] = {}
        for field in wanted:
            spot = layout.find(field)
            if spot is not None:
                found[field] = spot
        names = list(found)
        formats = [_BASE[t][0] for t, _ in found.values()]
        offsets = [o for _, o in found.values()]
        self.span = max(o + _BASE[t][1] for t, o in found.values())
        #: what makes two subscriptions of a topic read alike (their record dtype)
        self.key = (tuple(names), tuple(formats), tuple(offsets), self.span)
        self.names = names
        self.view: AnyArray | None = None
        self.dtype: np.dtype[Any] | None = None
        self.parts: list[list[AnyArray]] = []  # per decoded chunk, a column per name

    @property
    def view_dtype(self) -> np.dtype[Any]:
        names, formats, offsets, span = self.key
        return np.dtype({"names": names, "formats": formats, "offsets": offsets, "itemsize": span})

    def bind(self, buf: npt.NDArray[np.uint8]) -> None:
        """A view with a record starting at every byte of the chunk buffer: ``view[i]`` is the
        record whose payload (after the msg_id) starts at byte ``i``. It is of an opaque
        (void) dtype because numpy gathers those with a plain copy, 4x faster than records."""
        raw = np.dtype(f"V{self.span}")
        self.view = np.ndarray((len(buf) - self.span + 1,), raw, buf, 0, (1,))

    def unbind(self) -> None:
        self.view = None

    def take(self, starts: I64) -> None:
        assert self.view is not None  # the walk lists no record for a topic it cannot bind
        if self.dtype is None:
            self.dtype = self.view_dtype
        records = self.view[starts].view(self.dtype)
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
    if len(parts) == 1:
        columns = dict(zip(topics[0].names, parts[0], strict=True))
    for i, name in enumerate(topics[0].names if len(parts) > 1 else ()):
        columns[name] = np.concatenate([part[i] for part in parts])
        for part in parts:
            part[i] = columns[name][:0]  # frees the piece: memory stays about one copy
    t = columns.pop("timestamp").view(np.int64)  # > 2**63 (damage) turns negative: dropped
    positive, ordered = _scan().time_order(t)
    if not positive:
        keep = t > 0
        t = t[keep]
        columns = {n: c[keep] for n, c in columns.items()}
    if not ordered:
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
        scan = _scan()
        self._walk = scan.walk
        self._group = scan.group
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
        # P (definitions section), Q and M messages, kept raw: single payloads, or a copy of
        # a stretch of the file with the (start, end) of each payload in it
        self._raw: dict[int, list[bytes | tuple[bytes, I64, I64]]] = {80: [], 81: [], 77: []}
        self._param_changes: list[tuple[int, bytes]] = []
        self.subscriptions: dict[int, tuple[str, int]] = {}
        self.topics: list[_Topic] = []
        self.unknown_types: dict[int, int] = {}
        self.malformed: dict[str, int] = {}
        self.warnings: list[str] = []

        # the compiled walk's state (counters, first and last timestamps) and outputs: the
        # kept records not yet gathered (buffer offsets, topic), the messages for Python
        self.state = np.zeros(_STATE_SIZE, np.int64)
        self.state[_S_FIRST_T] = self.state[_S_LAST_T] = -1
        self._kept_arrays(_KEPT_CAPACITY[0])
        self.events = np.empty(_EVENTS_CAPACITY, np.int64)
        # per msg_id: timestamp offset, payload size range, index in self.topics (or -1);
        # zeros for a msg_id nobody subscribed. 1 MiB of anonymous memory: the kernel gives
        # zeroed pages as they are touched (a real log uses one or two of them)
        self.lut = np.frombuffer(mmap.mmap(-1, 1 << 20), np.int32).reshape(1 << 16, 4)
        self._lut = memoryview(self.lut).cast("B").cast("i")  # flat: fast item writes
        self.capacity = 0
        self._allocate(max(min(int(chunk_size), self.file_size + 1), 64))

    # counters kept by the walk

    @property
    def syncs(self) -> int:
        return int(self.state[_S_SYNCS])

    @property
    def log_messages(self) -> int:
        return int(self.state[_S_LOG_MESSAGES])

    @property
    def dropouts(self) -> int:
        return int(self.state[_S_DROPOUTS])

    @property
    def dropout_ms(self) -> int:
        return int(self.state[_S_DROPOUT_MS])

    @property
    def bad_records(self) -> int:
        return int(self.state[_S_BAD_RECORDS])

    @property
    def unsubscribed_records(self) -> int:
        return int(self.state[_S_UNSUBSCRIBED])

    @property
    def first_t(self) -> int:
        return int(self.state[_S_FIRST_T])

    @property
    def last_t(self) -> int:
        return int(self.state[_S_LAST_T])

    # buffer management

    def _release(self) -> None:
        """Let go of the buffer and the walk's outputs once the file is read (the series
        are copies)."""
        self.u8 = np.zeros(0, np.uint8)
        self._set_views()
        self._kept_arrays(0)
        self.events = self.kept

    def _set_views(self) -> None:
        size = self.u8.size
        self.buf = self.u8.data  # a memoryview: fast int indexing
        self.u16 = np.ndarray((max(size - 1, 0),), "<u2", self.u8, 0, (1,))
        self.u64 = np.ndarray((max(size - 7, 0),), "<u8", self.u8, 0, (1,))
        for topic in self.topics:
            if topic.span <= size:
                topic.bind(self.u8)
            else:
                topic.unbind()

    def _allocate(self, capacity: int) -> None:
        old, have = self.u8, self.have
        self.capacity = capacity
        size = capacity + _SLACK
        self.u8 = np.empty(size, np.uint8)
        self.u8[:have] = old[:have]
        self.u8[capacity:] = 0
        self._set_views()

    def _fill(self) -> None:
        while self.have < self.capacity:
            n = self.f.readinto(self.buf[self.have : self.capacity])
            if not n:
                self.eof = True
                self.u8[self.have : self.have + _SLACK] = 0  # (read past a too-short record)
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
        self._release()
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

    def _parse(self) -> None:
        """Parse the complete messages in the buffer (a window at a time: each walk lists
        the kept records of at most a window), then gather the kept records."""
        while True:
            limit, start = self._limit(), self.p
            end = min(limit, start + _WINDOW)
            self._parse_window(end)
            if end >= limit:
                break
            if self.p == start:  # a message longer than the window
                self._parse_window(limit)
                break
        self._gather()

    def _parse_window(self, end: int) -> None:
        if self.resync_from >= 0 and not self._resync(end):
            return
        walk, state = self._walk, self.state
        p = self.p
        while True:
            p, status = walk(
                self.u8,
                p,
                end,
                self.definitions,
                self.lut,
                self.kept,
                self.kept_topics,
                self.events,
                state,
            )
            if state[_S_EVENTS]:
                self._events()
            if status == _END:
                break
            if status == _FULL:
                if state[_S_KEPT] == self.kept.size:
                    self._gather()
                    if self.kept.size < _KEPT_CAPACITY[1]:
                        self._kept_arrays(min(4 * self.kept.size, _KEPT_CAPACITY[1]))
                continue
            # a message the walk leaves to us at once (a section change, a resync...)
            b = self.buf
            q = p + 3 + (b[p] | (b[p + 1] << 8))
            kind = b[p + 2]
            self.p = p
            self._message(kind, p, q)
            if kind == 66 and self.boundaries:  # 'B' with appended data: a nearer limit
                end = min(end, self._limit())
            if self.resync_from >= 0:
                if not self._resync(end):
                    return
                p = self.p
            else:
                p = q
        self.p = p

    def _events(self) -> None:
        """The messages the walk listed for us, in file order. In a long list, the M and Q
        (and, in the definitions section, P) messages are kept raw, in one copy of their
        stretch of the file; the others are handled one by one."""
        n = int(self.state[_S_EVENTS])
        self.state[_S_EVENTS] = 0
        starts = self.events[:n]
        if n >= _MANY_EVENTS:
            kinds = self.u8[starts + 2]
            raw = (kinds == 77) | (kinds == 81)  # 'M', 'Q'
            if self.definitions:
                raw |= kinds == 80  # 'P' (in the data section: a change, at its time)
            if raw.any():
                self._keep_raw(starts[raw], kinds[raw])
                starts = starts[~raw]
        b, base, definitions = self.buf, self.base, self.definitions
        raw_formats, added = self.formats.raw, False
        for p in starts.tolist():
            kind, q = b[p + 2], p + 3 + (b[p] | (b[p + 1] << 8))
            if kind == 65:  # 'A', a hundred or so at the start
                self.p = p
                self._subscribe(b[p + 3 : q].tobytes(), base + p)
            elif kind == 70 and definitions:  # 'F', a hundred or so
                name, colon, body = b[p + 3 : q].tobytes().partition(b":")
                if colon and name:
                    raw_formats[name.decode("utf-8", "replace")] = body
                    added = True
                else:
                    self._malformed("F")
            else:
                self.p = p
                self._message(kind, p, q)
        if added:
            self.formats.changed()

    def _keep_raw(self, starts: I64, kinds: npt.NDArray[np.uint8]) -> None:
        """P, Q and M messages, kept for :meth:`_payloads`: a copy of the stretch of the file
        they are in and where each payload is in it."""
        ends = starts + 3 + self.u16[starts]
        first = int(starts[0])
        block = self.buf[first : int(ends[-1])].tobytes()
        begin, ends = starts + (3 - first), ends - first
        for kind in (80, 81, 77):  # 'P', 'Q', 'M'
            mine = kinds == kind
            if mine.all():
                self._raw[kind].append((block, begin, ends))
                return
            if mine.any():
                self._raw[kind].append((block, begin[mine], ends[mine]))

    def _payloads(self, kind: int) -> Iterator[bytes]:
        """The raw P (definitions section), Q or M payloads, in file order."""
        for item in self._raw[kind]:
            if isinstance(item, bytes):
                yield item
                continue
            block, begin, ends = item
            for s, e in zip(begin.tolist(), ends.tolist(), strict=True):
                yield block[s:e]

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
        state = self.state
        if kind == 80:  # 'P'
            if self.definitions:
                self._raw[80].append(payload)
            else:
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
                self._unsubscribe(payload[0] | (payload[1] << 8))
        elif kind in (76, 67):  # 'L', 'C'
            if len(payload) < (9 if kind == 76 else 11):
                self._malformed(chr(kind))
            state[_S_LOG_MESSAGES] += 1
        elif kind == 83:  # 'S'
            state[_S_SYNCS] += 1
        elif kind == 79:  # 'O'
            if len(payload) < 2:
                self._malformed("O")
            else:
                state[_S_DROPOUTS] += 1
                state[_S_DROPOUT_MS] += payload[0] | (payload[1] << 8)
        elif kind == 73:  # 'I'
            self._info(payload)
        elif kind in (77, 81):  # 'M', 'Q'
            self._raw[kind].append(payload)
        elif kind == 66:  # 'B'
            self._flag_bits(payload, at)
        elif 65 <= kind <= 90 and q > p + 3:
            self.unknown_types[kind] = self.unknown_types.get(kind, 0) + 1
        else:
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
        for payload in self._payloads(77):
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
        subscriptions = self.subscriptions
        if msg_id in subscriptions:
            self._unsubscribe(msg_id)  # the records already taken keep the old subscription
        subscriptions[msg_id] = (name, multi_id)
        body = self.formats.raw.get(name)
        if body is None:
            self.warnings.append(f"subscription to {name!r} (byte {at}) has no format: skipped")
            return
        ts = 0 if body.startswith(b"uint64_t timestamp;") else self.formats.timestamp_offset(name)
        # any valid record has room for the timestamp (7 bytes when there is none: never 0)
        lut, row = self._lut, 4 * msg_id
        lut[row] = ts
        lut[row + 1] = ts + 8 if ts >= 0 else 7
        lut[row + 2] = 0xFFFF
        lut[row + 3] = -1
        if multi_id or ts < 0:
            return
        wanted = _WANTED.get(name)
        if wanted is None:
            return
        try:
            layout = self.formats.layout(name)
        except _FormatError as e:
            self.warnings.append(f"format of {name!r} is unreadable ({e}): topic skipped")
            return
        topic = _Topic(name, layout, wanted)
        if topic.span > layout.min_size:  # a field beyond the shortest record: impossible
            return
        # (so the smallest valid size of a kept topic is at least 8: never 0 either)
        # a topic subscribed again (same format) keeps collecting into the same object
        same = (t for t in self.topics if t.name == name and t.key == topic.key)
        index = next((self.topics.index(t) for t in same), len(self.topics))
        if index == len(self.topics):
            if index >= _MAX_TOPICS:
                self.warnings.append(f"too many subscriptions: {name!r} (byte {at}) skipped")
                return
            self.topics.append(topic)
            if topic.span <= self.u8.size:  # else bound when the buffer grows
                topic.bind(self.u8)
        lut[row + 1] = layout.min_size
        lut[row + 2] = layout.size
        lut[row + 3] = index

    def _unsubscribe(self, msg_id: int) -> None:
        self.subscriptions.pop(msg_id, None)
        self.lut[msg_id] = 0

    # data messages

    def _kept_arrays(self, capacity: int) -> None:
        self.kept = np.empty(capacity, np.int64)
        self.kept_topics = np.empty(capacity, np.int32)
        self.grouped = np.empty(capacity, np.int64)

    def _gather(self) -> None:
        """Copy the kept fields of the records the walk listed: one numpy gather per topic
        (from a view of the buffer with a record at every byte)."""
        n = int(self.state[_S_KEPT])
        if not n:
            return
        self.state[_S_KEPT] = 0
        counts = np.empty(len(self.topics), np.int64)
        self._group(self.kept, self.kept_topics, n, counts, self.grouped)
        start = 0
        for k, count in enumerate(counts.tolist()):
            if count:
                self.topics[k].take(self.grouped[start : start + count])
                start += count

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
        for payload in [*self._payloads(80), *(m for _, m in self._param_changes)]:
            parsed = _info(payload, 0)
            if parsed is not None:
                params[parsed[0]] = parsed[2]
        return params

    def default_parameters(self) -> dict[int, dict[str, object]]:
        """Defaults by type bit (0: system defaults, 1: current setup) -> name -> value."""
        out: dict[int, dict[str, object]] = {}
        for payload in self._payloads(81):
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

    ``chunk_size`` is the read buffer in bytes (walked 1 MiB at a time); memory is about
    that plus the kept series. Raises :class:`LogError` for anything that is not a
    readable ULog file.
    """
    reader = _run(path, chunk_size)
    with _no_slips(reader):
        return reader.result()
