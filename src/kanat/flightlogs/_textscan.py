"""The compiled tokenizer of DataFlash text logs (numba), used by ``dataflash._Text``.

Imported only when a text log is read: importing numba and loading its machine code costs
about half a second, so ``import kanat.flightlogs`` must not pull it in. The kernels are
``njit(cache=True, nogil=True)``: compiled once per machine (cached next to this module, or in
``NUMBA_CACHE_DIR``), and they run as plain Python under ``NUMBA_DISABLE_JIT=1`` (slowly: for
coverage), with the same results.

Two calls per chunk ``arr[:n]`` (``np.uint8``), with the chunk's FMT lines read in between:

* :func:`scan_lines`: where the lines start, each line's record name as an integer key
  (``dataflash._name_key``; ``NOT_RECORD``, ``LONG_NAME``) and which lines are FMT lines;
* :func:`parse_chunk`: each line's index in the table of defined names (a small hash table;
  ``UNKNOWN``), the value fields of the kept record types straight into float64 columns (one
  block per type, sized by a first count), their boot times, the lines of the few types read
  in Python (MSG, PARM naming SYSID_THISMAV, FMTU, MULT).

Numbers take an exact fast path only: an optional sign, at most 18 digits (a mantissa up to
2**53) and a power of ten within ±22, so ``mantissa * 10**k`` or ``mantissa / 10**k`` is one
correctly rounded operation: the value ``float()`` (and ``np.fromstring``) gives for the same
text; ``nan``/``inf``/``infinity`` in any case. A field whose value is not kept only has to be
a number (of any length). A line with any other field (a long mantissa, a big exponent, a
signed nan, ``nan(...)``, underscores, junk, an empty field) is left (``FALLBACK``) to the
Python slow path of ``dataflash``, which reads it exactly as the numpy reader did.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import numba
import numpy as np


def _jit(inline: Literal["never", "always"] = "never") -> Callable[[Any], Any]:
    """``numba.njit(cache=True, nogil=True)``; where numba finds no writable place for its
    cache (it raises then), compiled in each process instead."""

    def jit(f: Any) -> Any:
        try:
            return numba.njit(cache=True, nogil=True, inline=inline)(f)
        except RuntimeError:
            return numba.njit(nogil=True, inline=inline)(f)

    return jit


NOT_RECORD = -2  #: a line without ``NAME,`` (header text, empty)
LONG_NAME = -1  #: a record name of 5-8 characters: never a defined type
UNKNOWN = -1  #: a record whose name no FMT defines (its table index)
EMPTY = -3  #: a free slot of the hash table

BAD, OK, FALLBACK = 0, 1, 2  #: line status from parse_chunk

MODE_NUMERIC, MODE_WORDS = 0, 1  #: every field a number / some fields words (not parsed)

_POW10 = np.array([10.0**k for k in range(23)])
_MAX_EXACT = 1 << 53
_COMMA, _NL, _CR = 44, 10, 13


@_jit()
def _is_space(b: int) -> bool:
    return b == 32 or 9 <= b <= 13


@_jit()
def _lower(b: int) -> int:
    return b | 32 if 65 <= b <= 90 else b


@_jit()
def _word_end(arr: np.ndarray, p: int, e: int) -> bool:
    """Does the field end at ``p`` (only spaces up to a comma or the end)?"""
    while p < e and _is_space(arr[p]):
        p += 1
    return p >= e or arr[p] == _COMMA


@_jit()
def _match(arr: np.ndarray, p: int, e: int, word: np.ndarray) -> bool:
    """``arr[p:]`` starts with ``word`` (lower case letters), in any case."""
    if p + len(word) > e:
        return False
    q = 0
    while q < len(word) and _lower(arr[p + q]) == word[q]:
        q += 1
    return q == len(word)


_NAN = np.frombuffer(b"nan", np.uint8).copy()
_INF = np.frombuffer(b"inf", np.uint8).copy()
_INITY = np.frombuffer(b"inity", np.uint8).copy()


@_jit()
def _special(arr: np.ndarray, p: int, e: int, neg: bool, signed: bool) -> tuple[bool, float, int]:
    """``nan``, ``inf``, ``infinity`` (any case) at ``p`` (after the sign, if any)."""
    if _match(arr, p, e, _NAN):
        p += 3
        if signed or not _word_end(arr, p, e):  # a signed nan: numpy and float() differ
            return False, 0.0, p
        v = np.nan
    elif _match(arr, p, e, _INF):
        p += 3
        if _match(arr, p, e, _INITY):
            p += 5
        if not _word_end(arr, p, e):
            return False, 0.0, p
        v = -np.inf if neg else np.inf
    else:
        return False, 0.0, p
    while p < e and arr[p] != _COMMA:
        p += 1
    return True, v, p


@_jit(inline="always")
def number(arr: np.ndarray, p: int, e: int) -> tuple[bool, float, int]:
    """Parse the field starting at ``p`` of a line whose content ends at ``e`` (``arr[e]``
    is not a digit: the newline, a comma): (ok, value, where the field ends: ``e`` or its
    comma). ``ok`` False: not on the fast path."""
    while p < e and _is_space(arr[p]):
        p += 1
    if p >= e:
        return False, 0.0, p
    c = arr[p]
    neg = c == 45
    signed = neg or c == 43
    if signed:
        p += 1
    m = 0  # the digits (more than 18 are refused below: m is then not used)
    s = p
    while True:
        d = int(arr[p]) - 48
        if d < 0 or d > 9:
            break
        m = m * 10 + d
        p += 1
    nd = p - s
    exp10 = 0
    if arr[p] == 46 and p < e:  # .
        p += 1
        s = p
        while True:
            d = int(arr[p]) - 48
            if d < 0 or d > 9:
                break
            m = m * 10 + d
            p += 1
        exp10 = s - p
        nd += p - s
    if nd == 0:
        return _special(arr, p, e, neg, signed)
    if nd > 18:
        return False, 0.0, p
    if p < e and arr[p] != _COMMA:
        if arr[p] == 101 or arr[p] == 69:  # e, E
            p += 1
            eneg = False
            if p < e and (arr[p] == 45 or arr[p] == 43):
                eneg = arr[p] == 45
                p += 1
            x = 0
            s = p
            while p < e:
                d = int(arr[p]) - 48
                if d < 0 or d > 9:
                    break
                if x < 100_000:
                    x = x * 10 + d
                p += 1
            if p == s:
                return False, 0.0, p
            exp10 += -x if eneg else x
        while p < e and _is_space(arr[p]):
            p += 1
        if p < e and arr[p] != _COMMA:
            return False, 0.0, p
    if m == 0:
        return True, -0.0 if neg else 0.0, p
    if m > _MAX_EXACT or exp10 > 22 or exp10 < -22:
        return False, 0.0, p
    v = np.float64(m)
    v = v * _POW10[exp10] if exp10 >= 0 else v / _POW10[-exp10]
    return True, -v if neg else v, p


@_jit(inline="always")
def valid(arr: np.ndarray, p: int, e: int) -> tuple[bool, int]:
    """Is the field at ``p`` a number both numpy and ``float()`` read (a decimal of any
    length and exponent, ``nan``, ``inf``, ``infinity``)? (ok, where it ends); not ok: not on
    the fast path. For the fields whose value is not kept (as :func:`number`)."""
    while p < e and _is_space(arr[p]):
        p += 1
    if p < e and (arr[p] == 45 or arr[p] == 43):
        p += 1
    s = p
    while 48 <= arr[p] <= 57:
        p += 1
    nd = p - s
    if arr[p] == 46 and p < e:
        p += 1
        s = p
        while 48 <= arr[p] <= 57:
            p += 1
        nd += p - s
    if nd == 0:
        ok, _, p = _special(arr, p, e, False, False)
        return ok, p
    if p < e and arr[p] != _COMMA:
        if arr[p] == 101 or arr[p] == 69:  # e, E
            p += 1
            if p < e and (arr[p] == 45 or arr[p] == 43):
                p += 1
            s = p
            while p < e and 48 <= arr[p] <= 57:
                p += 1
            if p == s:
                return False, p
        while p < e and _is_space(arr[p]):
            p += 1
        if p < e and arr[p] != _COMMA:
            return False, p
    return True, p


@_jit()
def _key(arr: np.ndarray, a: int, end: int) -> int:
    """The name key of the line ``arr[a:end]`` (``end``: its newline or the chunk's end)."""
    eff = end - 1 if end > a and arr[end - 1] == _CR else end
    lim = min(a + 9, eff)
    j = a + 1
    while j < lim and arr[j] != _COMMA:
        j += 1
    if j >= lim:
        return NOT_RECORD
    key = 0
    for q in range(j - a):
        b = int(arr[a + q])
        if q < 4:
            key |= b << (8 * q)
        elif b != 0:
            return LONG_NAME
    return key


_NLS = np.uint64(0x0A0A0A0A0A0A0A0A)
_LOW7 = np.uint64(0x7F7F7F7F7F7F7F7F)
_HIGH = np.uint64(0x8080808080808080)


@_jit()
def scan_lines(
    arr: np.ndarray, n: int, final: bool, key_fmt: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lines of ``arr[:n]`` (the last one only when ``final``, else up to the last newline):
    (starts, keys, the FMT lines). Line ``i`` is ``arr[starts[i]:starts[i + 1] - 1]``
    (``starts`` has one more item: one past the last line's newline, ``n + 1`` for a last
    line without one).

    The key of a record line (``NAME,``: a comma at index 1..8 before the line's end, an
    ending CR excluded) is the little-endian integer of the name's first 4 bytes; a name
    with a non-zero byte after the 4th is ``LONG_NAME``; other lines are ``NOT_RECORD``.
    """
    count = 0
    for i in range(n):
        count += arr[i] == _NL
    extra = final and n > 0 and arr[n - 1] != _NL
    nl = count + 1 if extra else count
    starts = np.empty(nl + 1, np.int64)
    keys = np.empty(nl, np.int64)
    starts[0] = 0
    k = 0
    # eight bytes at a time: a word without a newline byte is passed over
    n8 = n - n % 8
    words = arr[:n8].view(np.uint64)
    for q in range(len(words)):
        y = words[q] ^ _NLS
        if (((y & _LOW7) + _LOW7) | y) & _HIGH != _HIGH:
            for i in range(8 * q, 8 * q + 8):
                if arr[i] == _NL:
                    starts[k + 1] = i + 1
                    keys[k] = _key(arr, starts[k], i)
                    k += 1
    for i in range(n8, n):
        if arr[i] == _NL:
            starts[k + 1] = i + 1
            keys[k] = _key(arr, starts[k], i)
            k += 1
    if extra:
        starts[nl] = n + 1
        keys[nl - 1] = _key(arr, starts[nl - 1], n)
    nfmt = 0
    for j in range(nl):
        nfmt += keys[j] == key_fmt
    fmt = np.empty(nfmt, np.int64)
    nfmt = 0
    for j in range(nl):
        if keys[j] == key_fmt:
            fmt[nfmt] = j
            nfmt += 1
    return starts, keys, fmt


def _slot(key: int, mask: int) -> int:
    return ((key * 40503) >> 10) & mask


_slot_jit = _jit()(_slot)


def hash_table(keys: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Open-addressing table of name keys (non-negative, below 2**32) -> their index."""
    size = 16
    while size < 4 * len(keys):
        size *= 2
    hkeys = [EMPTY] * size
    hvals = [0] * size
    for i, k in enumerate(keys):
        h = _slot(k, size - 1)
        while hkeys[h] != EMPTY:
            h = (h + 1) & (size - 1)
        hkeys[h] = k
        hvals[h] = i
    return np.array(hkeys, np.int64), np.array(hvals, np.int32)


#: columns of ``info`` (per kept type) in parse_chunk
I_TABLE, I_MODE, I_WIDTH, I_CODE0, I_NOUT, I_TIME_OUT, I_TIME_US = range(7)
#: columns of ``meta`` (per kept type) from parse_chunk
ROW0, COUNT, VAL0 = range(3)
#: ``wordy`` of a table index: its lines are listed (all, or only those naming ``word``)
WORDY_NO, WORDY_ALL, WORDY_NAMED = 0, 1, 2
#: ``clock`` from parse_chunk: timed rows, the first, lowest, highest, last time, rows left to
#: the slow path, times left to numpy
C_TIMED, C_FIRST, C_LOW, C_HIGH, C_LAST, C_FALLBACK, C_NUMPY = range(7)
UNTIMED = -1  #: rt of a row without a boot time
TIME_NUMPY = -2  #: rt of a row whose time is beyond int64 (numpy's cast decides)
_INT64_END = 2.0**63
_TIME_END = 2.0**62
_INT64_MAX, _INT64_MIN = 2**63 - 1, -(2**63)


@_jit()
def parse_chunk(
    arr: np.ndarray,
    starts: np.ndarray,
    keys: np.ndarray,
    hkeys: np.ndarray,
    hvals: np.ndarray,
    kind: np.ndarray,
    wordy: np.ndarray,
    info: np.ndarray,
    codes: np.ndarray,
    word: np.ndarray,
    open_last: bool,
    carry: int,
) -> tuple[
    np.ndarray,
    np.ndarray,
    int,
    np.ndarray,
    np.ndarray,
    np.ndarray,
    np.ndarray,
    np.ndarray,
    np.ndarray,
    np.ndarray,
    np.ndarray,
]:
    """Name, classify and parse the lines of a chunk (its FMT lines already read).

    ``hkeys``/``hvals``: the hash table of the defined names (see :func:`hash_table`), whose
    indices ``t`` are the table; ``kind[t]``: the kept type ``k`` of a table index (-1: not
    parsed), ``wordy[t]``: ``WORDY_*``. Per kept type, ``info[k]``: ``I_TABLE``, ``I_MODE``
    (``MODE_NUMERIC``: every field a number, extra fields too, as ``np.fromstring`` reads a
    line; ``MODE_WORDS``: the first ``I_WIDTH`` fields only, words not parsed, as the
    ``float()`` reader), ``I_WIDTH`` (fields of the format), ``I_CODE0`` (where its fields'
    codes start in ``codes``: the output column, -1 not kept, words -2 and -3 - column when
    kept), ``I_NOUT`` (output columns), ``I_TIME_OUT`` (the output column of its boot clock,
    -1 none) and ``I_TIME_US`` (µs per clock unit). ``open_last``: the last line has no
    newline (numpy read it by other rules: the slow path). ``carry``: the boot time before
    the chunk (-1 none).

    Returns ``tid`` (per line: its table index, ``NOT_RECORD``, ``UNKNOWN``), ``counts`` (lines
    per table index), how many records are of no defined type, ``meta`` (per kept type:
    ``ROW0``/``COUNT``, its rows, ``VAL0``, its values: ``vals[VAL0 + column * COUNT + row]``),
    ``vals``, per row: ``line`` (line index), ``status`` (``OK``, ``BAD``: too few fields,
    ``FALLBACK``: for the slow path), ``rt`` (the boot time of an ``OK`` row, µs:
    ``np.round(t * I_TIME_US)`` for ``0 <= t < 2**62``, else ``UNTIMED``; ``TIME_NUMPY``
    beyond int64), ``times`` (the time of each ``OK`` row: its own or the last before it, as
    ``_Collector.clock``), the lines of the wordy types (in order) and ``clock`` (``C_*``).
    """
    nl = len(keys)
    ntable = len(kind)
    tid = np.empty(nl, np.int32)
    counts = np.zeros(max(ntable, 1), np.int64)
    unknown = 0
    mask = len(hkeys) - 1
    for i in range(nl):
        key = keys[i]
        if key < 0:
            tid[i] = NOT_RECORD if key == NOT_RECORD else UNKNOWN
            unknown += key != NOT_RECORD
            continue
        h = _slot_jit(key, mask)
        while True:
            hk = hkeys[h]
            if hk == key:
                v = hvals[h]
                tid[i] = v
                counts[v] += 1
                break
            if hk == EMPTY:
                tid[i] = UNKNOWN
                unknown += 1
                break
            h = (h + 1) & mask

    nk = len(info)
    meta = np.empty((nk, 3), np.int64)
    rows = 0
    nvals = 0
    for k in range(nk):
        c = counts[info[k, I_TABLE]]
        meta[k, ROW0] = rows
        meta[k, COUNT] = c
        meta[k, VAL0] = nvals
        rows += c
        nvals += c * info[k, I_NOUT]
    nwordy = 0
    for t in range(ntable):
        if wordy[t] != WORDY_NO:
            nwordy += counts[t]
    vals = np.empty(nvals, np.float64)
    line = np.empty(rows, np.int64)
    status = np.empty(rows, np.int8)
    rt = np.empty(rows, np.int64)
    times = np.empty(rows, np.int64)
    wlines = np.empty(nwordy, np.int64)
    clock = np.zeros(7, np.int64)
    clock[C_LOW] = _INT64_MAX
    clock[C_HIGH] = _INT64_MIN
    fill = np.zeros(nk, np.int64)
    nw = 0
    for i in range(nl):
        t = tid[i]
        if t < 0:
            continue
        k = kind[t]
        if k < 0:
            if wordy[t] == WORDY_ALL or wordy[t] == WORDY_NAMED and _has(arr, starts, i, word):
                wlines[nw] = i
                nw += 1
            continue
        r = fill[k]
        fill[k] = r + 1
        g = meta[k, ROW0] + r
        line[g] = i
        rt[g] = UNTIMED
        if open_last and i == nl - 1:
            status[g] = FALLBACK
            clock[C_FALLBACK] += 1
            continue
        st = _parse_line(arr, starts[i] + 1, starts[i + 1] - 1, info[k], codes, vals,
                         meta[k, VAL0] + r, meta[k, COUNT])  # fmt: skip
        status[g] = st
        if st == FALLBACK:
            clock[C_FALLBACK] += 1
        if st != OK:
            continue
        tout = info[k, I_TIME_OUT]
        if tout >= 0:
            x = boot_time(vals[meta[k, VAL0] + r + tout * meta[k, COUNT]], info[k, I_TIME_US])
            rt[g] = x
            if x == TIME_NUMPY:
                clock[C_NUMPY] += 1
            elif x >= 0:
                clock[C_TIMED] += 1
                if clock[C_TIMED] == 1:
                    clock[C_FIRST] = x
                clock[C_LOW] = min(clock[C_LOW], x)
                clock[C_HIGH] = max(clock[C_HIGH], x)
                carry = x
        times[g] = carry
    clock[C_LAST] = carry
    return tid, counts, unknown, meta, vals, line, status, rt, times, wlines[:nw], clock


@_jit()
def _parse_line(
    arr: np.ndarray,
    p: int,
    e: int,
    info: np.ndarray,
    codes: np.ndarray,
    vals: np.ndarray,
    base: int,
    stride: int,
) -> int:
    """Parse the record line ``arr[p - 1:e]`` (``p``: after its first byte; ``e``: its
    newline) into ``vals[base + column * stride]``; its status."""
    while arr[p] != _COMMA:
        p += 1
    p += 1
    w = info[I_WIDTH]
    c0 = info[I_CODE0]
    j = 0
    if info[I_MODE] == MODE_NUMERIC:
        while True:
            code = codes[c0 + j] if j < w else -1
            if code >= 0:
                ok, v, p = number(arr, p, e)
                vals[base + code * stride] = v
            else:  # every field must be a number, kept or not
                ok, p = valid(arr, p, e)
            if not ok:
                return FALLBACK
            j += 1
            if p >= e:
                break
            p += 1  # the comma
    else:
        while True:
            code = codes[c0 + j] if j < w else -2
            if code <= -2:  # a word, or a field after the format's: not parsed
                while p < e and arr[p] != _COMMA:
                    p += 1
                if code <= -3:
                    vals[base + (-3 - code) * stride] = np.nan
            else:
                if code >= 0:
                    ok, v, p = number(arr, p, e)
                    vals[base + code * stride] = v
                else:
                    ok, p = valid(arr, p, e)
                if not ok:
                    return FALLBACK
            j += 1
            if p >= e:
                break
            p += 1
    return OK if j >= w else BAD


@_jit()
def _has(arr: np.ndarray, starts: np.ndarray, i: int, word: np.ndarray) -> bool:
    """Does line ``i`` contain ``word``?"""
    w = len(word)
    for p in range(starts[i], starts[i + 1] - w):
        if arr[p] == word[0]:
            q = 1
            while q < w and arr[p + q] == word[q]:
                q += 1
            if q == w:
                return True
    return False


@_jit()
def boot_time(x: float, us: int) -> int:
    """``np.round(x * us).astype(np.int64)`` for ``0 <= x < 2**62``, else ``UNTIMED``
    (``TIME_NUMPY`` when beyond int64, where numpy's cast depends on the machine)."""
    if not (x >= 0 and x < _TIME_END):  # NaN too
        return UNTIMED
    y = np.rint(x * us)
    if y >= _INT64_END:
        return TIME_NUMPY
    return int(y)
