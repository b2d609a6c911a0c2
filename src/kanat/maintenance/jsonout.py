"""The `kanat forecast --format json` document, written fast for fleets of millions of items.

Same content as ``forecasting.as_json`` (bundle.md): one object with ``as_of``, ``items``
sorted as the spec says, and ``aircraft_status``. Items of one task share their shape (which
units, aircraft or part), so each task's items are formatted with one template over columns
converted to Python lists once, instead of building a dict per item.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from itertools import repeat

import numpy as np

from kanat.engine import due
from kanat.maintenance.forecasting import Gathered, from_us_dt, sorted_items
from kanat.maintenance.parallel import forked_text

EPOCH_DAY = dt.date(1970, 1, 1)


def _num(value: float) -> str:
    """A number as JSON: whole values without a fraction, others in shortest repr."""
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def _nums(values: np.ndarray) -> list[str]:
    """``_num`` over an array, with the loops in C (map over ints and floats)."""
    whole = (values == np.floor(values)) & (np.abs(values) < 1e15)
    out = np.empty(values.shape[0], dtype=object)
    out[whole] = list(map(str, values[whole].astype(np.int64).tolist()))
    out[~whole] = list(map(repr, values[~whole].tolist()))
    return out.tolist()


_PLAIN = re.compile(r'[^"\\\x00-\x1f\x7f-\U0010ffff]*\Z')


def _json_strings(values: list[str]) -> list[str]:
    """Each string as JSON text (as ``json.dumps`` writes it), plain ones without a call."""
    plain = _PLAIN.match
    return ['"' + v + '"' if plain(v) else json.dumps(v) for v in values]


def _table(values: list[str]) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def _day_strings(days: np.ndarray) -> tuple[int, list[str]]:
    """'"YYYY-MM-DD"' for every day in the range of ``days`` (a lookup table)."""
    valid = days[days != due.NO_DAY]
    if valid.size == 0:
        return 0, []
    lo, hi = int(valid.min()), int(valid.max())
    return lo, [f'"{(EPOCH_DAY + dt.timedelta(days=d)).isoformat()}"' for d in range(lo, hi + 1)]


CHUNK = 200_000


def chunks_by_shape(
    order: np.ndarray, shape: np.ndarray, size: int
) -> Iterator[tuple[int, np.ndarray, list[np.ndarray]]]:
    """The items of ``order`` in chunks of ``size``; within a chunk, the positions of the
    items of each ``shape`` (items of one shape format with one template)."""
    for begin in range(0, order.shape[0], size):
        chunk = order[begin : begin + size]
        by_shape = np.argsort(shape[chunk], kind="stable")
        bounds = np.flatnonzero(np.diff(shape[chunk][by_shape])) + 1
        yield begin, chunk, [local for local in np.split(by_shape, bounds) if local.size]


def write_json(
    g: Gathered, r: due.Result, statuses: list[dict[str, object]], *, processes: int = 1
) -> Iterator[str]:
    """The document in chunks of text, items in the spec's order; memory stays bounded by
    one chunk of formatted items. ``processes`` > 1 formats the items on that many cores
    (forked processes: command-line use only)."""
    order = sorted_items(g, r)
    # lookup tables as object arrays: gathering from them runs in C; index 0 is null
    aircraft_json = _table(["null"] + _json_strings(g.aircraft_serial))
    part_json = _table(
        ["null"]
        + list(
            map(
                '{{"pn": {}, "serial": {}}}'.format,
                _json_strings(g.part_pn),
                _json_strings(g.part_serial),
            )
        )
    )
    task_json = [json.dumps(rev.task.code) for rev in g.revisions]
    all_days = np.concatenate((r.due[2:][~np.isnan(r.due[2:])].astype(np.int64), r.due_date))
    day_lo, day_str = _day_strings(all_days)
    day_json = _table(["null"] + day_str)  # day d at d - day_lo + 1
    status_json = _table([json.dumps(s) for s in due.STATUSES])
    driver_json = _table(["null"] + [json.dumps(u) for u in due.UNITS])

    def days(values: np.ndarray) -> list[str]:
        v = values.astype(np.int64)
        return day_json[np.where(v == due.NO_DAY, 0, v - day_lo + 1)].tolist()

    present = ~np.isnan(r.due)  # (4, n)
    shape = (
        r.task.astype(np.int64) * 64
        + (r.part >= 0) * 32
        + (r.aircraft >= 0) * 16
        + present[0] * 8
        + present[1] * 4
        + present[2] * 2
        + present[3]
    )

    def items_text(part: np.ndarray) -> Iterator[str]:
        """The items of ``part``, one per line, joined by ",\\n"."""
        for begin, chunk, groups in chunks_by_shape(part, shape, CHUNK):
            yield from chunk_text(begin, chunk, groups)

    def chunk_text(begin: int, chunk: np.ndarray, groups: list[np.ndarray]) -> Iterator[str]:
        lines = np.empty(chunk.shape[0], dtype=object)
        for local in groups:
            group = chunk[local]
            i0 = int(group[0])
            units = [k for k in range(4) if present[k, i0]]
            ac = aircraft_json[r.aircraft[group] + 1].tolist()
            pt = part_json[r.part[group] + 1].tolist()
            due_cols, rem_cols = [], []
            for k in units:
                if k < 2:
                    due_cols.append(_nums(r.due[k, group]))
                    rem_cols.append(_nums(r.remaining[k, group]))
                else:
                    due_cols.append(days(r.due[k, group]))
                    rem_cols.append(list(map(str, r.remaining[k, group].astype(np.int64).tolist())))
            dd = days(r.due_date[group])
            drv = driver_json[r.driver[group] + 1].tolist()
            st = status_json[r.status[group]].tolist()
            task = task_json[int(r.task[i0])]
            # the line's constant pieces around its columns, joined in C (map/zip/join)
            pieces = ['{"aircraft": ', ', "part": ', ', "task": ' + task + ', "due": {']
            for n, k in enumerate(units):
                pieces[-1] += ("" if n == 0 else ", ") + f'"{due.UNITS[k]}": '
                pieces.append("")
            pieces[-1] += '}, "remaining": {'
            for n, k in enumerate(units):
                pieces[-1] += ("" if n == 0 else ", ") + f'"{due.UNITS[k]}": '
                pieces.append("")
            pieces[-1] += '}, "due_date": '
            pieces.append(', "driver": ')
            pieces.append(', "status": ')
            pieces.append("}")
            columns = [ac, pt, *due_cols, *rem_cols, dd, drv, st]
            woven: list[object] = []
            for piece, column in zip(pieces, columns, strict=False):
                woven += [repeat(piece), column]
            woven.append(repeat(pieces[-1]))
            lines[local] = list(map("".join, zip(*woven, strict=False)))  # repeat() is endless
        if begin:
            yield ",\n"
        yield ",\n".join(lines.tolist())

    yield '{"as_of": ' + json.dumps(from_us_dt(g.as_of_us).isoformat().replace("+00:00", "Z"))
    yield ',\n "items": [\n'
    yield from forked_text(order, items_text, processes=processes, sep=",\n")
    yield '\n ],\n "aircraft_status": [\n'
    yield ",\n".join(json.dumps(s) for s in statuses)
    yield "\n ]\n}\n"
