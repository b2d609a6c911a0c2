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


# the bytes allowed at each place of 'YYYY-MM-DD HH:MM:SS.ffffff'
_LOW = np.full(26, ord("0"), dtype=np.uint8)
_HIGH = np.full(26, ord("9"), dtype=np.uint8)
for _col, _char in ((4, "-"), (7, "-"), (13, ":"), (16, ":"), (19, ".")):
    _LOW[_col] = _HIGH[_col] = ord(_char)
_LOW[10], _HIGH[10] = ord(" "), ord("T")  # ' ' as Django writes, 'T' as others may
_PARSE_ROWS = 1 << 14
_LOW_FLAT = np.tile(_LOW, _PARSE_ROWS)
_HIGH_FLAT = np.tile(_HIGH, _PARSE_ROWS)


def parse_sqlite_instants(text: str, count: int | None = None) -> I64:
    """Instants as Django stores them in SQLite (UTC text ``YYYY-MM-DD HH:MM:SS`` with an
    optional ``.ffffff``), joined by commas, to int64 microseconds since the epoch; an
    empty one (a null) is OPEN_END.

    Parsed in numpy from the bytes, a block of rows at a time (each row's 26 bytes as a
    row of a small matrix, checked byte by byte against the pattern, its digit columns
    combined into the fields). SQLite's own ``unixepoch()`` costs more per row than
    handing over the text. Anything not in that shape raises ValueError. ``count``: the number of
    instants when known (all of full length: their places need no search)."""
    raw = np.frombuffer(text.encode("ascii"), dtype=np.uint8)
    fixed = bool(count) and raw.shape[0] == 27 * (count or 0) - 1
    if fixed:  # every instant has its fraction: rows of 27 bytes, read in place
        n = count or 0
        table = np.lib.stride_tricks.as_strided(raw, shape=(n, 26), strides=(27, 1))
        short = null = np.zeros(n, dtype=bool)
    else:
        sep = np.flatnonzero(raw == ord(","))
        starts = np.concatenate(([0], sep + 1))
        length = np.concatenate((sep, [raw.shape[0]])) - starts
        n = starts.shape[0]
        short = length == 19
        null = length == 0
        if not bool((short | null | (length == 26)).all()):
            raise ValueError("instants are not all 'YYYY-MM-DD HH:MM:SS[.ffffff]'")
        # room to read 26 bytes from every start (the padding reads as a dummy instant)
        buf = np.concatenate((raw, np.frombuffer(b"1970-01-01 00:00:00.000000", dtype=np.uint8)))
        offsets = np.arange(26, dtype=np.int64)
    out = np.empty(n, dtype=np.int64)
    for lo in range(0, n, _PARSE_ROWS):
        hi = min(lo + _PARSE_ROWS, n)
        if fixed:
            rows = table[lo:hi]
        else:
            at = np.where(null[lo:hi], raw.shape[0], starts[lo:hi])
            rows = buf[at[:, None] + offsets]  # (m, 26)
            rows[short[lo:hi], 19:] = np.frombuffer(b".000000", dtype=np.uint8)  # none given
        block = np.ascontiguousarray(rows[:, :26])
        m = block.shape[0]
        flat = block.reshape(-1)
        if not bool(((flat >= _LOW_FLAT[: 26 * m]) & (flat <= _HIGH_FLAT[: 26 * m])).all()):
            raise ValueError("instants are not all 'YYYY-MM-DD HH:MM:SS[.ffffff]'")
        c = block.astype(np.int32)
        c -= ord("0")

        def number(*cols: int, c: npt.NDArray[np.int32] = c) -> npt.NDArray[np.int32]:
            value = c[:, cols[0]].copy()
            for col in cols[1:]:
                value *= 10
                value += c[:, col]
            return value

        days = from_civil(
            number(0, 1, 2, 3).astype(np.int64), number(5, 6).astype(np.int64), number(8, 9)
        )
        second = number(11, 12) * 3600 + number(14, 15) * 60 + number(17, 18)
        micro = number(20, 21, 22, 23, 24, 25)
        out[lo:hi] = (days * 86_400 + second) * 1_000_000 + micro
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
        count = out[0].shape[0] if out else None
        out += [parse_sqlite_instants(t, count) for t in texts[len(ints) :]]
    except ValueError:  # stored by something other than Django: let SQLite convert them
        return fetch_ints([*ints, *(_epoch_or_open(c) for c in instants)], rest, params)
    if len({c.shape[0] for c in out}) != 1:
        raise ValueError(f"columns of unequal length from: {rest}")
    return out
