"""The compiled record walk of the ULog reader (:mod:`kanat.flightlogs.ulog`).

Imported only when a ULog file is read: importing numba costs a few hundred milliseconds and
its first call loads the machine code cached on disk (``cache=True``: compiled once per
machine, in ``__pycache__``). With ``NUMBA_DISABLE_JIT=1`` the same functions run as plain
Python (slowly).

:func:`walk` follows the message chain ``uint16 size, uint8 type, payload`` from a position
of the chunk buffer. It takes the data messages itself (validated against the per-msg_id
table the reader keeps, their timestamps folded into the log's first and last ones, those of
the kept topics listed for :func:`group`), counts the messages that need no Python (sync
markers, log strings, dropouts) and lists the ones that do (definitions, subscriptions,
info...) as *events*, which the reader handles in file order before any later data message
is taken (a subscription changes how it is read). It returns at the first incomplete message
before ``end``, at a message the reader must handle at once (one that switches the section
or needs a resync, a flag-bits message), or when an output array is full.

Every index stays inside ``buf``: a message is only looked at when its header is before
``end`` and its payload when it ends before ``end`` (``end <= buf.size``); the msg_id of a
data message too short to hold one is read from the bytes after it, as far as ``buf`` goes
(0 past its end).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numba
import numpy as np

# walk() results
END = 0  # the message at p is incomplete before end (or its header is)
MESSAGE = 1  # the (complete) message at p is for the reader, now
FULL = 2  # handle the events / group the kept records, then walk on from p

# state slots (an int64 array the reader owns: counters it reads, positions it resets)
SYNCS = 0
LOG_MESSAGES = 1
DROPOUTS = 2
DROPOUT_MS = 3
BAD_RECORDS = 4  # data messages of a subscribed msg_id with a wrong size
UNSUBSCRIBED = 5  # data messages of a msg_id nobody subscribed
FIRST_T = 6  # smallest non-zero timestamp of the valid data messages, -1 before any
LAST_T = 7  # largest timestamp, -1 before any (both clamped to 2**63 - 1)
KEPT = 8  # entries used in ``kept`` / ``topics``
EVENTS = 9  # entries used in ``events``
STATE_SIZE = 10

# columns of the per-msg_id table: timestamp offset in the payload after the msg_id (-1:
# none), smallest and largest valid payload size after the msg_id, index of the kept topic
# (-1: not kept). A row of zeros is a msg_id nobody subscribed (any other has a smallest
# size of at least 7: room for a timestamp, or the 7 bytes the reader asks when there is
# none), so that a new table is zeroed memory
TS = 0
MIN_SIZE = 1
MAX_SIZE = 2
TOPIC = 3

_I64_MAX = (1 << 63) - 1


def _compiled(func: Callable[..., Any]) -> Any:
    """``numba.njit(cache=True, nogil=True)``: compiled once per machine, the machine code
    kept in ``__pycache__`` (else ``NUMBA_CACHE_DIR`` or the user's cache directory); where
    none is writable, numba refuses to cache, and it is compiled in each process instead."""
    try:
        return numba.njit(cache=True, nogil=True)(func)
    except RuntimeError:  # "cannot cache function ...: no locator available"
        return numba.njit(nogil=True)(func)


# Indexing with an unsigned integer spares numba its negative-index check, which lets the
# compiler merge the byte loads of a field into one load (the walk runs 2.5x faster).


@_compiled
def _at(a, i):
    """``a[i]`` for an ``i >= 0``."""
    return a[np.uint64(i)]


@_compiled
def _byte(buf, i):
    return np.int64(buf[np.uint64(i)])


@_compiled
def _u16(buf, i):
    """The little-endian uint16 at ``buf[i]``."""
    return _byte(buf, i) | (_byte(buf, i + 1) << 8)


@_compiled
def _u64(buf, i):
    """The little-endian uint64 at ``buf[i]``, as an int64 (negative from 2**63 on)."""
    return (
        _byte(buf, i)
        | (_byte(buf, i + 1) << 8)
        | (_byte(buf, i + 2) << 16)
        | (_byte(buf, i + 3) << 24)
        | (_byte(buf, i + 4) << 32)
        | (_byte(buf, i + 5) << 40)
        | (_byte(buf, i + 6) << 48)
        | (_byte(buf, i + 7) << 56)
    )


@_compiled
def walk(buf, p, end, definitions, lut, kept, topics, events, state):
    """Walk the messages of ``buf[p:end]``; returns ``(p, status)``, see the module doc.

    ``buf``: uint8, ``lut``: int32 (65536, 4), C-contiguous, ``kept``/``events``: int64,
    ``topics``: int32, ``state``: int64 (``STATE_SIZE``). ``kept`` gets the buffer offset
    of each kept record's payload after its msg_id, ``topics`` its topic; ``events`` the
    offsets of the messages for the reader. In the definitions section the events are the
    F, I, M, P and Q messages and anything else but a data message stops the walk.
    """
    if lut.shape[0] != 1 << 16 or lut.shape[1] != 4 or topics.size < kept.size:
        raise ValueError("walk: table or outputs of the wrong shape")
    if p < 0 or end > buf.size:  # (indices are not checked: these bounds make them safe)
        raise ValueError("walk: window outside the buffer")
    table = lut.ravel()
    n_kept = state[KEPT]
    n_events = state[EVENTS]
    first_t = state[FIRST_T]
    any_first = first_t >= 0
    if not any_first:  # none yet: any will be smaller or equal
        first_t = np.int64(_I64_MAX)
    last_t = state[LAST_T]
    syncs = state[SYNCS]
    logs = state[LOG_MESSAGES]
    dropouts = state[DROPOUTS]
    dropout_ms = state[DROPOUT_MS]
    bad = state[BAD_RECORDS]
    unsubscribed = state[UNSUBSCRIBED]
    status = END
    while p + 3 <= end:
        size = _u16(buf, p)
        q = p + 3 + size
        if q > end:
            break
        kind = _byte(buf, p + 2)
        if kind == 68:  # 'D'
            if n_events:  # a subscription before it may change how it reads
                status = FULL
                break
            if n_kept == kept.size:
                status = FULL
                break
            if size >= 2:
                msg_id = _u16(buf, p + 3)
            else:  # too short to hold one: whatever follows, as the reader always did
                msg_id = _byte(buf, p + 3) if p + 3 < buf.size else np.int64(0)
                if p + 4 < buf.size:
                    msg_id |= _byte(buf, p + 4) << 8
            row = 4 * msg_id
            low = _at(table, row + MIN_SIZE)
            if low == 0:
                unsubscribed += 1
            elif size - 2 < low or size - 2 > _at(table, row + MAX_SIZE):
                bad += 1
            else:
                # listed whether kept or not (topics interleave: a branch would mispredict)
                topic = _at(table, row + TOPIC)
                kept[n_kept] = p + 5
                topics[n_kept] = topic
                n_kept += topic >= 0
                ts = _at(table, row + TS)
                if ts >= 0:  # the valid sizes leave room for it
                    t = _u64(buf, p + 5 + ts)
                    if t < 0:  # from 2**63 on (damage): clamped
                        t = np.int64(_I64_MAX)
                    last_t = max(last_t, t)
                    first_t = min(first_t, t if t != 0 else np.int64(_I64_MAX))
                    any_first |= t != 0
            p = q
            continue
        if definitions:
            # 'F', 'I', 'M', 'P', 'Q'
            if kind == 70 or kind == 73 or kind == 77 or kind == 80 or kind == 81:
                if n_events == events.size:
                    status = FULL
                    break
                events[n_events] = p
                n_events += 1
                p = q
                continue
            status = MESSAGE
            break
        if kind == 83:  # 'S'
            syncs += 1
        elif (kind == 76 and size >= 9) or (kind == 67 and size >= 11):
            logs += 1  # 'L', 'C' (shorter ones are malformed: for the reader)
        elif kind == 79 and size >= 2:  # 'O'
            dropouts += 1
            dropout_ms += _u16(buf, p + 3)
        elif kind != 66 and (
            (65 <= kind <= 90 and size > 0) or kind == 76 or kind == 67 or kind == 79
        ):  # A, R, I, M, P, Q, F, short L/C/O (malformed), unknown types (skipped)
            if n_events == events.size:
                status = FULL
                break
            events[n_events] = p
            n_events += 1
        else:  # 'B', an empty message of another type, garbage: the reader, now
            status = MESSAGE
            break
        p = q
    state[KEPT] = n_kept
    state[EVENTS] = n_events
    state[FIRST_T] = first_t if any_first else -1
    state[LAST_T] = last_t
    state[SYNCS] = syncs
    state[LOG_MESSAGES] = logs
    state[DROPOUTS] = dropouts
    state[DROPOUT_MS] = dropout_ms
    state[BAD_RECORDS] = bad
    state[UNSUBSCRIBED] = unsubscribed
    return p, status


@_compiled
def group(kept, topics, n, counts, out):
    """``kept[:n]`` into ``out[:n]`` grouped by topic (a stable counting sort): topic ``k``
    gets ``counts[k]`` entries after those of topics ``0..k-1``."""
    if not n <= min(kept.size, topics.size, out.size):
        raise ValueError("group: arguments out of range")
    counts[:] = 0
    for i in range(n):
        k = topics[i]
        if not 0 <= k < counts.size:
            raise ValueError("group: topic out of range")
        counts[k] += 1
    starts = np.empty(counts.size, np.int64)
    total = 0
    for k in range(counts.size):
        starts[k] = total
        total += counts[k]
    for i in range(n):
        k = topics[i]
        out[starts[k]] = kept[i]
        starts[k] += 1


@_compiled
def time_order(t):
    """``(all of t > 0, those > 0 non-decreasing)`` for an int64 array, in one pass."""
    positive = True
    ordered = True
    last = np.int64(0)
    for i in range(t.size):
        v = t[i]
        if v <= 0:
            positive = False
        else:
            if v < last:
                ordered = False
            last = v
    return positive, ordered
