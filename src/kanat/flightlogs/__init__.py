"""Flight logs in, flights and exceedances out: the Django-free core.

``summarize(path)`` reads any log we know (the format is told from the content, never the
file name), extracts its flights and checks its series against limits, and returns one JSON-
ready dict; ``kanat flightlog summarize`` prints it. Readers: ``ulog`` (PX4), ``dataflash``
(ArduPilot binary and text), ``tlog`` (MAVLink telemetry), ``csvlog`` (a documented CSV of
flights).
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

import numpy as np

from kanat.flightlogs import csvlog, dataflash, tlog, ulog
from kanat.flightlogs.base import FORMATS, LogData, LogError
from kanat.flightlogs.findings import DEFAULT_LIMITS, Finding, Limits, check, magnitude
from kanat.flightlogs.flights import Extraction, FlightSpan, extract

HEAD_BYTES = 4096
#: what we say we read, in error messages
READABLE = (
    "PX4 ULog (.ulg), ArduPilot DataFlash binary (.bin) or text (.log), "
    "MAVLink telemetry (.tlog), or the Kanat flights CSV"
)
_MAGICS = {
    b"PK\x03\x04": "a zip archive",
    b"\x1f\x8b": "a gzip-compressed file",
    b"7z\xbc\xaf\x27\x1c": "a 7-zip archive",
    b"BZh": "a bzip2-compressed file",
    b"\xfd7zXZ\x00": "an xz-compressed file",
    b"%PDF": "a PDF document",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"SQLite format 3": "an SQLite database",
}


def detect(head: bytes) -> str:
    """The format of a file from its first bytes, or LogError saying what it looks like."""
    if ulog.sniff(head):
        return "ulog"
    if dataflash.sniff_bin(head):
        return "dataflash-bin"
    if tlog.sniff(head):
        return "tlog"
    if dataflash.sniff_text(head):
        return "dataflash-text"
    if csvlog.sniff(head):
        return "csv"
    raise LogError(f"this file looks like {_looks_like(head)}; we read {READABLE}")


def _looks_like(head: bytes) -> str:
    if not head:
        return "nothing (it is empty)"
    for magic, what in _MAGICS.items():
        if head.startswith(magic):
            return (
                what + " (unpack it first)" if "archive" in what or "compressed" in what else what
            )
    sample = head[:512]
    try:
        text = sample.decode("utf-8")
    except UnicodeDecodeError as exc:  # a character cut at the end of the sample is fine
        text = sample[: exc.start].decode("utf-8") if exc.start > len(sample) - 4 else None
    if text is not None and all(c.isprintable() or c in "\r\n\t" for c in text):
        first = text.strip().splitlines()[0][:60] if text.strip() else ""
        return f"text starting {first!r}"
    return f"binary data starting {head[:8].hex(' ')}"


def read(path: str | os.PathLike[str]) -> LogData:
    """Any log we read, as its standard series."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(HEAD_BYTES)
    except OSError as exc:
        raise LogError(f"cannot open {os.fspath(path)}: {exc.strerror}") from None
    fmt = detect(head)
    try:
        if fmt == "ulog":
            return ulog.read(path)
        if fmt in ("dataflash-bin", "dataflash-text"):
            return dataflash.read(path)
        if fmt == "tlog":
            return tlog.read(path)
        return csvlog.read(path)
    except LogError:
        raise
    except MemoryError:
        raise LogError("the log needs more memory than we allow to read it") from None
    except Exception as exc:  # a reader bug must not pass for a parse: say what and where
        raise LogError(f"unreadable {fmt} log ({type(exc).__name__}: {exc})") from exc


def _iso(us: int | None) -> str | None:
    if us is None:
        return None
    when = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=int(us))
    return when.isoformat().replace("+00:00", "Z")


def analyse(
    path: str | os.PathLike[str], limits: Limits | None = None
) -> tuple[LogData, Extraction, list[Finding]]:
    """Read, extract flights, check limits (``DEFAULT_LIMITS`` when None)."""
    log = read(path)
    extraction = extract(log)
    return log, extraction, check(log, extraction.flights, limits or DEFAULT_LIMITS)


def summary(log: LogData, extraction: Extraction, found: list[Finding]) -> dict[str, Any]:
    """The JSON object of ``kanat flightlog summarize`` (see docs/flightlogs.md)."""
    origin = log.start_us
    first = log.first_t

    def utc(t: int) -> str | None:
        return None if origin is None else _iso(origin + t)

    acc = magnitude(log.accel)
    acc = acc[np.isfinite(acc)]
    flights = [
        {
            "takeoff": utc(f.takeoff),
            "landing": utc(f.landing),
            "takeoff_s": (f.takeoff - first) / 1e6,
            "landing_s": (f.landing - first) / 1e6,
            "airborne_s": f.airborne_us / 1e6,
            "cycles": f.cycles,
            "open_start": f.open_start,
            "open_end": f.open_end,
        }
        for f in extraction.flights
    ]
    return {
        "format": log.format,
        "size": log.size,
        "vehicle": log.vehicle_id,
        "start": utc(first),
        "duration_s": (log.last_t - first) / 1e6,
        "flights": flights,
        "airborne_s": sum(f.airborne_us for f in extraction.flights) / 1e6,
        "cycles": sum(f.cycles for f in extraction.flights),
        "flight_rule": extraction.rule,
        "max_accel_ms2": float(acc.max()) if acc.size else None,
        "findings": [
            {
                "code": x.code,
                "message": x.message,
                "at": utc(x.t),
                "t_s": (x.t - first) / 1e6,
                "series": x.series,
                "sample": x.sample,
                "value": x.value,
                "limit": x.limit,
                "flight": x.flight,
            }
            for x in found
        ],
        "warnings": [*log.warnings, *extraction.warnings],
    }


def summarize(path: str | os.PathLike[str], limits: Limits | None = None) -> dict[str, Any]:
    """One log as a JSON-ready dict: format, start, duration_s, flights, airborne_s,
    max_accel_ms2, findings (against ``limits``; ``DEFAULT_LIMITS`` when None)."""
    return summary(*analyse(path, limits))


__all__ = [
    "DEFAULT_LIMITS",
    "FORMATS",
    "Extraction",
    "Finding",
    "FlightSpan",
    "Limits",
    "LogData",
    "LogError",
    "analyse",
    "detect",
    "read",
    "summarize",
    "summary",
]
