"""`kanat forecast --format table`: the forecast as a terminal table, streamed.

Columns are padded from lookup tables (statuses, serials, part labels, task codes are
padded once) and each task's items are formatted with the loops in C, so a whole fleet's
millions of items print without building an object per item.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from itertools import repeat

import numpy as np

from kanat.engine import due
from kanat.maintenance.forecasting import STATUS_LABELS, Gathered, from_us_dt, sorted_items
from kanat.maintenance.jsonout import chunks_by_shape
from kanat.maintenance.parallel import forked_text

EPOCH_DAY = dt.date(1970, 1, 1)
CHUNK = 200_000
DUE_WIDTH = 30


def _padded(values: list[str]) -> list[str]:
    width = max((len(v) for v in values), default=0)
    return [v.ljust(width) for v in values]


def write_table(
    g: Gathered,
    r: due.Result,
    statuses: list[tuple[str, str, list[str]]],
    horizon: int,
    *,
    processes: int = 1,
) -> Iterator[str]:
    order = sorted_items(g, r)
    used_aircraft = np.unique(r.aircraft[r.kept])
    serials = ["(stores)"] + [g.aircraft_serial[a] for a in range(len(g.aircraft_serial))]
    width_ac = max(
        [len("AIRCRAFT"), len("(stores)")]
        + [len(g.aircraft_serial[a]) for a in used_aircraft if a >= 0]
    )
    aircraft_col = [s.ljust(width_ac) for s in serials]
    labels = ["-"] + [f"{pn}/{sn}" for pn, sn in zip(g.part_pn, g.part_serial, strict=True)]
    width_part = max([len("PART")] + [len(x) for x in labels])
    part_col = [x.ljust(width_part) for x in labels]
    codes = [rev.task.code for rev in g.revisions]
    width_task = max([len("TASK")] + [len(c) for c in codes])
    task_col = [c.ljust(width_task) for c in codes]
    status_col = _padded([STATUS_LABELS[s] for s in due.STATUSES] + ["STATUS"])[:-1]
    driver_col = ["- ", "FH", "FC", "DY", "MO"]
    cal = r.due[2:][:, r.kept]
    days = np.concatenate((cal[~np.isnan(cal)].astype(np.int64), r.due_date[r.kept]))
    valid = days[days != due.NO_DAY]
    lo = int(valid.min()) if valid.size else 0
    hi = int(valid.max()) if valid.size else 0
    date_col = [(EPOCH_DAY + dt.timedelta(days=d)).isoformat() for d in range(lo, hi + 1)]
    dates_of = lambda days: [  # noqa: E731
        date_col[d - lo] if d != due.NO_DAY else "-         " for d in days.tolist()
    ]
    head = "  ".join(
        [
            "STATUS".ljust(len(status_col[0])),
            "DUE DATE  ",
            "BY",
            "AIRCRAFT".ljust(width_ac),
            "PART".ljust(width_part),
            "TASK".ljust(width_task),
            "DUE".ljust(DUE_WIDTH),
            "REMAINING",
        ]
    )
    yield f"Forecast as of {from_us_dt(g.as_of_us):%Y-%m-%d %H:%M}Z, horizon {horizon} days\n\n"
    yield head + "\n"
    present = ~np.isnan(r.due)
    shape = (
        r.task.astype(np.int64) * 16 + present[0] * 8 + present[1] * 4 + present[2] * 2 + present[3]
    )

    def items_text(part: np.ndarray) -> Iterator[str]:
        for _begin, chunk, groups in chunks_by_shape(part, shape, CHUNK):
            lines = np.empty(chunk.shape[0], dtype=object)
            for local in groups:
                group = chunk[local]
                units = [k for k in range(4) if present[k, group[0]]]
                due_parts: list[list[str]] = []
                rem_parts: list[list[str]] = []
                for k in units:
                    name = due.UNITS[k] + " "
                    if k == 0:
                        d_txt = list(map("{:.1f}".format, r.due[k, group].tolist()))
                        r_txt = list(map("{:.1f}".format, r.remaining[k, group].tolist()))
                    elif k == 1:
                        d_txt = list(map("{:g}".format, r.due[k, group].tolist()))
                        r_txt = list(map("{:g}".format, r.remaining[k, group].tolist()))
                    else:
                        d_txt = dates_of(r.due[k, group].astype(np.int64))
                        r_txt = list(map("{:g} d".format, r.remaining[k, group].tolist()))
                    due_parts.append(list(map(name.__add__, d_txt)))
                    rem_parts.append(list(map(name.__add__, r_txt)))
                due_text = (
                    list(map(" ".join, zip(*due_parts, strict=True)))
                    if due_parts
                    else [""] * group.size
                )
                rem_text = (
                    list(map(" ".join, zip(*rem_parts, strict=True)))
                    if rem_parts
                    else [""] * group.size
                )
                due_text = list(map(str.ljust, due_text, repeat(DUE_WIDTH)))
                columns = [
                    [status_col[s] for s in r.status[group].tolist()],
                    dates_of(r.due_date[group]),
                    [driver_col[d + 1] for d in r.driver[group].tolist()],
                    [aircraft_col[a + 1] for a in r.aircraft[group].tolist()],
                    [part_col[p + 1] for p in r.part[group].tolist()],
                    [task_col[int(r.task[group[0]])]] * group.size,
                    due_text,
                    rem_text,
                ]
                lines[local] = list(map("  ".join, zip(*columns, strict=True)))
            yield "\n".join(line.rstrip() for line in lines.tolist()) + "\n"

    yield from forked_text(order, items_text, processes=processes)
    yield "\n"
    for serial, status, reasons in statuses:
        yield f"{serial}: {status}" + (f" ({', '.join(reasons)})" if reasons else "") + "\n"
