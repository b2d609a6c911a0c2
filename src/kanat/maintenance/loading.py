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
