"""Bulk reads that feed the forecast core: whole tables as numpy arrays.

Instants leave the database as integer microseconds since the epoch, computed by the
database itself (exact on both backends), so millions of rows never become Python
datetime objects.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from django.db import connection

from kanat.engine.months import from_civil
from kanat.engine.timebase import OPEN_END

I64 = npt.NDArray[np.int64]


def epoch_us(column: str) -> str:
    """SQL for a datetime column as integer microseconds since the epoch (UTC)."""
    if connection.vendor == "postgresql":
        return f"(EXTRACT(EPOCH FROM {column}) * 1000000)::bigint"
    if connection.vendor == "sqlite":
        # Django stores "YYYY-MM-DD HH:MM:SS[.ffffff]" in UTC: whole seconds from
        # unixepoch() (SQLite 3.38+, three times faster than strftime; '%%' is escaped as
        # queries always run with parameters), microseconds from the fraction.
        seconds = (
            f"unixepoch({column})"
            if sqlite3.sqlite_version_info >= (3, 38)
            else f"CAST(strftime('%%s', {column}) AS INTEGER)"
        )
        return f"({seconds} * 1000000 + CAST(substr({column} || '.000000', 21, 6) AS INTEGER))"
    raise NotImplementedError(f"no epoch conversion for {connection.vendor}")


def fetch_int_columns(sql: str, params: Sequence[object], ncols: int) -> list[I64]:
    """Run a query whose columns are all non-null integers (COALESCE in the SQL) into
    int64 columns."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if not rows:
        return [np.zeros(0, dtype=np.int64) for _ in range(ncols)]
    arr = np.array(rows, dtype=np.int64)
    return [np.ascontiguousarray(arr[:, k]) for k in range(ncols)]


def id_filter(column: str, ids: Sequence[int] | None) -> tuple[str, list[object]]:
    """A WHERE fragment for ``column IN ids`` (everything when ids is None)."""
    if ids is None:
        return "1=1", []
    if not ids:
        return "1=0", []
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%s)", [list(ids)]
    # SQLite: a JSON array parameter keeps the statement short for any number of ids
    return f"{column} IN (SELECT value FROM json_each(%s))", [
        "[" + ",".join(str(int(i)) for i in ids) + "]"
    ]


def fetch_mixed_columns(
    sql: str, params: Sequence[object], ncols: int
) -> list[npt.NDArray[np.float64]]:
    """Like fetch_int_columns for rows mixing integers and floats: float64 columns.

    Integers up to 2**53 (microsecond instants until the year 2255) stay exact; NULL
    becomes NaN."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if not rows:
        return [np.zeros(0, dtype=np.float64) for _ in range(ncols)]
    arr = np.array(rows, dtype=np.float64)
    return [np.ascontiguousarray(arr[:, k]) for k in range(ncols)]


def fetch_ints(columns: Sequence[str], rest: str, params: Sequence[object]) -> list[I64]:
    """``SELECT columns <rest>`` where every column is a non-null integer, as int64 columns.

    Millions of rows never become Python tuples: the database writes the rows as one text
    (SQLite group_concat, PostgreSQL string_agg) that numpy parses in C. Rows come in the
    query's order (the core re-sorts if a backend does not keep it).
    """
    ncols = len(columns)
    if connection.vendor == "sqlite":
        row = " || ' ' || ".join(f"({c})" for c in columns)
        sql = f"SELECT group_concat(v, ' ') FROM (SELECT {row} AS v {rest})"
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            text = cursor.fetchone()[0]
    elif connection.vendor == "postgresql":
        # one value from the server (COPY sends a message per row: slower to receive)
        row = " || ' ' || ".join(f"({c})::text" for c in columns)
        sql = f"SELECT string_agg(v, ' ') FROM (SELECT {row} AS v {rest}) AS rows"
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            text = cursor.fetchone()[0]
    else:
        return fetch_int_columns(f"SELECT {', '.join(columns)} {rest}", params, ncols)
    if not text or not text.strip():
        return [np.zeros(0, dtype=np.int64) for _ in range(ncols)]
    flat = np.fromstring(text, dtype=np.int64, sep=" ")
    table = flat.reshape(-1, ncols)
    return [np.ascontiguousarray(table[:, k]) for k in range(ncols)]


def parse_sqlite_instants(text: str) -> I64:
    """Instants as Django stores them in SQLite (UTC text ``YYYY-MM-DD HH:MM:SS`` with an
    optional ``.ffffff``), joined by commas, to int64 microseconds since the epoch; an
    empty one (a null) is OPEN_END.

    Parsed in numpy from the bytes (a gather per digit): SQLite's own ``unixepoch()``
    costs about twice as long per row as handing over the text. Anything not in that
    shape raises ValueError."""
    buf = np.frombuffer(text.encode("ascii"), dtype=np.uint8)
    sep = np.flatnonzero(buf == ord(","))
    starts = np.concatenate(([0], sep + 1))
    length = np.concatenate((sep, [buf.shape[0]])) - starts
    long = length == 26
    null = length == 0
    if not bool(((length == 19) | long | null).all()):
        raise ValueError("instants are not all 'YYYY-MM-DD HH:MM:SS[.ffffff]'")
    if bool(null.any()):  # read digits of the nulls from a dummy instant
        buf = np.concatenate((buf, np.frombuffer(b"1970-01-01 00:00:00", dtype=np.uint8)))
        starts = np.where(null, buf.shape[0] - 19, starts)
    digit_at = (0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18)
    digits = [buf[starts + k].astype(np.int64) - 48 for k in digit_at]
    shape_ok = (buf[starts + 4] == ord("-")) & (buf[starts + 7] == ord("-"))
    shape_ok &= (buf[starts + 13] == ord(":")) & (buf[starts + 16] == ord(":"))
    for d in digits:
        shape_ok &= (d >= 0) & (d <= 9)
    if not bool(shape_ok.all()):
        raise ValueError("instants are not all 'YYYY-MM-DD HH:MM:SS[.ffffff]'")

    def number(first: int, count: int) -> I64:
        value = digits[first]
        for d in digits[first + 1 : first + count]:
            value = value * 10 + d
        return value

    year, month, day = number(0, 4), number(4, 2), number(6, 2)
    hour, minute, second = number(8, 2), number(10, 2), number(12, 2)
    frac = np.zeros(starts.shape[0], dtype=np.int64)
    k = np.flatnonzero(long)
    if k.size:
        at = starts[k]
        for offset in range(20, 26):
            frac[k] = frac[k] * 10 + (buf[at + offset].astype(np.int64) - 48)
    days = from_civil(year, month, day)
    seconds = ((days * 24 + hour) * 60 + minute) * 60 + second
    out = seconds * 1_000_000 + frac
    out[null] = OPEN_END
    return out


def _epoch_or_open(column: str) -> str:
    return f"COALESCE({epoch_us(column)}, {OPEN_END})"


def fetch_columns(
    ints: Sequence[str], instants: Sequence[str], rest: str, params: Sequence[object]
) -> list[I64]:
    """``SELECT ints, instants <rest>`` as int64 columns, the instant columns (datetime
    columns) in microseconds since the epoch, null as OPEN_END: the int columns first.

    On SQLite each column leaves the database as one text (``group_concat`` in the row
    order of the query) and is parsed by numpy; the instants as the text Django stored
    (see ``parse_sqlite_instants``). Elsewhere as ``fetch_ints`` with ``epoch_us``."""
    if connection.vendor != "sqlite":
        return fetch_ints([*ints, *(_epoch_or_open(c) for c in instants)], rest, params)
    inner = ", ".join(
        [f"({c}) AS i{k}" for k, c in enumerate(ints)]
        + [f"COALESCE({c}, '') AS t{k}" for k, c in enumerate(instants)]
    )
    outer = ", ".join(
        [f"group_concat(i{k}, ' ')" for k in range(len(ints))]
        + [f"group_concat(t{k}, ',')" for k in range(len(instants))]
    )
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {outer} FROM (SELECT {inner} {rest})", params)
        texts = cursor.fetchone()
    if texts is None or texts[0] is None:
        return [np.zeros(0, dtype=np.int64) for _ in range(len(ints) + len(instants))]
    out = [np.fromstring(t, dtype=np.int64, sep=" ") for t in texts[: len(ints)]]
    try:
        out += [parse_sqlite_instants(t) for t in texts[len(ints) :]]
    except ValueError:  # stored by something other than Django: let SQLite convert them
        return fetch_ints([*ints, *(_epoch_or_open(c) for c in instants)], rest, params)
    if len({c.shape[0] for c in out}) != 1:
        raise ValueError(f"columns of unequal length from: {rest}")
    return out
