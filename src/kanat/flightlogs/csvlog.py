"""The Kanat flights CSV: for ground systems that only export flight totals.

    # comment lines start with '#'
    takeoff,landing,cycles
    2025-03-01T08:00:00Z,2025-03-01T10:30:00Z,1
    2025-03-02T08:00:00+05:00,2025-03-02T09:00:00+05:00,3

The header names the columns (any order; ``cycles`` optional, default 1; other columns are
ignored). Instants are ISO 8601 with a UTC offset (``Z`` or ``+05:00``); cycles a whole
number >= 1. Every row is checked: an error names the line and the column.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os

from kanat.flightlogs.base import LogData, LogError, StatedFlight

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
MAX_BYTES = 64 << 20  # a CSV of flights is small; anything bigger is not one


def sniff(head: bytes) -> bool:
    try:
        text = head.decode("utf-8-sig")
    except UnicodeDecodeError as exc:  # a character cut at the end of the head is fine
        if exc.start < len(head) - 4:
            return False
        text = head[: exc.start].decode("utf-8-sig")
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            names = {c.strip().lower() for c in line.split(",")}
            return {"takeoff", "landing"} <= names
    return False


def _instant(value: str, line: int, column: str) -> int:
    try:
        when = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise LogError(f"line {line}, {column}: {value!r} is not an ISO 8601 instant") from None
    if when.tzinfo is None:
        raise LogError(f"line {line}, {column}: {value!r} has no UTC offset (add Z or +05:00)")
    return (when - EPOCH) // dt.timedelta(microseconds=1)


def read(path: str | os.PathLike[str]) -> LogData:
    size = os.path.getsize(path)
    if size > MAX_BYTES:
        raise LogError(f"a flights CSV of {size:,} bytes is too large (at most {MAX_BYTES:,})")
    with open(path, "rb") as fh:
        raw = fh.read()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LogError(f"the flights CSV is not UTF-8 text (byte {exc.start})") from None
    lines = [(n, line) for n, line in enumerate(text.splitlines(), 1)]
    body = [(n, line) for n, line in lines if line.strip() and not line.lstrip().startswith("#")]
    if not body:
        raise LogError("the flights CSV has no header line")
    rows = list(csv.reader(io.StringIO("\n".join(line for _, line in body))))
    header = [c.strip().lower() for c in rows[0]]
    for need in ("takeoff", "landing"):
        if need not in header:
            raise LogError(f"line {body[0][0]}: the header has no {need} column")
    col = {name: header.index(name) for name in header}
    flights: list[StatedFlight] = []
    for (n, _), row in zip(body[1:], rows[1:], strict=True):
        if len(row) < len(header):
            raise LogError(f"line {n}: {len(row)} columns, the header has {len(header)}")
        takeoff = _instant(row[col["takeoff"]], n, "takeoff")
        landing = _instant(row[col["landing"]], n, "landing")
        if landing <= takeoff:
            raise LogError(f"line {n}: landing is not after takeoff")
        cycles = 1
        if "cycles" in col and row[col["cycles"]].strip():
            try:
                cycles = int(row[col["cycles"]])
            except ValueError:
                raise LogError(
                    f"line {n}, cycles: {row[col['cycles']]!r} is not a whole number"
                ) from None
            if cycles < 1:
                raise LogError(f"line {n}, cycles: {cycles} (at least 1)")
        if flights and takeoff < flights[-1].landing_us:
            raise LogError(f"line {n}: this flight overlaps the one before (or is out of order)")
        flights.append(StatedFlight(takeoff, landing, cycles))
    if not flights:
        raise LogError("the flights CSV has a header but no flights")
    return LogData(
        format="csv",
        start_us=0,  # log time is UTC
        first_t=flights[0].takeoff_us,
        last_t=flights[-1].landing_us,
        stated_flights=flights,
        size=size,
    )
