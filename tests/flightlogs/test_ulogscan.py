"""The compiled record walk of the ULog reader (``kanat.flightlogs._ulogscan``) against a
plain-Python walk written here from the format, on the shared logs and on generated and
damaged buffers; the reader's results whatever its chunk and window sizes, cut anywhere."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kanat.flightlogs import _ulogscan as scan
from kanat.flightlogs import ulog
from kanat.flightlogs.base import LogError

from .conftest import SERIES, shared_log
from .test_ulog import FUZZ_BASE, Writer, messages, synthetic

ROOT = Path(__file__).resolve().parents[2]
I64_MAX = (1 << 63) - 1
FUZZ = settings(
    max_examples=150,
    deadline=None,  # the first call loads (or compiles) the machine code
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


# --- a plain-Python walk, from the module's documentation --------------------------------


def python_walk(buf, p, end, definitions, lut, kept, topics, events, state):
    """What :func:`scan.walk` does, message by message, with Python ints."""
    data = bytes(buf)
    p, end = int(p), int(end)
    n_kept, n_events = int(state[scan.KEPT]), int(state[scan.EVENTS])
    counts = {k: int(state[k]) for k in range(scan.STATE_SIZE)}

    def stop(status: int) -> tuple[int, int]:
        counts[scan.KEPT], counts[scan.EVENTS] = n_kept, n_events
        for k, v in counts.items():
            state[k] = v
        return p, status

    while p + 3 <= end:
        size = data[p] | data[p + 1] << 8
        q = p + 3 + size
        if q > end:
            return stop(scan.END)
        kind = chr(data[p + 2])
        if kind == "D":
            if n_events or n_kept == len(kept):
                return stop(scan.FULL)
            following = data[p + 3 : p + 5].ljust(2, b"\0")  # a too-short one: what follows
            msg_id = following[0] | following[1] << 8
            ts, low, high, topic = (int(x) for x in lut[msg_id])
            if low == 0:
                counts[scan.UNSUBSCRIBED] += 1
            elif not low <= size - 2 <= high:
                counts[scan.BAD_RECORDS] += 1
            else:
                kept[n_kept], topics[n_kept] = p + 5, topic
                n_kept += topic >= 0
                if ts >= 0:
                    t = min(int.from_bytes(data[p + 5 + ts : p + 13 + ts], "little"), I64_MAX)
                    counts[scan.LAST_T] = max(counts[scan.LAST_T], t)
                    if t and (counts[scan.FIRST_T] < 0 or t < counts[scan.FIRST_T]):
                        counts[scan.FIRST_T] = t
        elif definitions and kind in "FIMPQ":
            if n_events == len(events):
                return stop(scan.FULL)
            events[n_events] = p
            n_events += 1
        elif definitions:
            return stop(scan.MESSAGE)
        elif kind == "S":
            counts[scan.SYNCS] += 1
        elif kind == "L" and size >= 9 or kind == "C" and size >= 11:
            counts[scan.LOG_MESSAGES] += 1
        elif kind == "O" and size >= 2:
            counts[scan.DROPOUTS] += 1
            counts[scan.DROPOUT_MS] += data[p + 3] | data[p + 4] << 8
        elif kind != "B" and ("A" <= kind <= "Z" and size or kind in "LCO"):
            if n_events == len(events):
                return stop(scan.FULL)
            events[n_events] = p
            n_events += 1
        else:
            return stop(scan.MESSAGE)
        p = q
    return stop(scan.END)


def python_group(kept, topics, n, counts, out):
    order = np.argsort(topics[:n], kind="stable")
    out[:n] = kept[:n][order]
    counts[:] = np.bincount(topics[:n], minlength=len(counts))


def python_time_order(t: np.ndarray) -> tuple[bool, bool]:
    positive = t[t > 0]
    return positive.size == t.size, bool(np.all(positive[1:] >= positive[:-1]))


PYTHON_SCAN = SimpleNamespace(walk=python_walk, group=python_group, time_order=python_time_order)

Walk = Callable[..., tuple[int, int]]


def drive(
    walk: Walk,
    buf: np.ndarray,
    start: int,
    end: int,
    definitions: bool,
    lut: np.ndarray,
    capacity: int,
) -> tuple[list[tuple[str, int, int]], list[int], int]:
    """Walk ``buf[start:end]`` to the end as the reader does (handing over the outputs when
    they fill up, stepping over the messages left to it): what was listed, in file order,
    the final state and position."""
    kept = np.zeros(capacity, np.int64)
    topics = np.zeros(capacity, np.int32)
    events = np.zeros(capacity, np.int64)
    state = np.zeros(scan.STATE_SIZE, np.int64)
    state[scan.FIRST_T] = state[scan.LAST_T] = -1
    listed: list[tuple[str, int, int]] = []
    p = start
    for _ in range(10 * len(buf) + 10):
        p, status = walk(buf, p, end, definitions, lut, kept, topics, events, state)
        n = int(state[scan.KEPT])
        listed += [("kept", int(o), int(t)) for o, t in zip(kept[:n], topics[:n], strict=True)]
        listed += [("event", int(o), 0) for o in events[: int(state[scan.EVENTS])]]
        state[scan.KEPT] = state[scan.EVENTS] = 0
        if status == scan.END:
            break
        if status == scan.MESSAGE:
            listed.append(("message", int(p), int(buf[p + 2])))
            p += 3 + (int(buf[p]) | int(buf[p + 1]) << 8)
    else:
        raise AssertionError("the walk does not get on")
    return listed, state.tolist(), int(p)


def same_walk(buf: np.ndarray, start: int, end: int, definitions: bool, lut: np.ndarray) -> None:
    for capacity in (1, 3, 1 << 12):
        compiled = drive(scan.walk, buf, start, end, definitions, lut, capacity)
        python = drive(python_walk, buf, start, end, definitions, lut, capacity)
        assert compiled == python, capacity
    # numba's typing, not only the logic: the same function run by the interpreter
    assert drive(scan.walk.py_func, buf, start, end, definitions, lut, 3) == compiled


# --- the walk on generated buffers -----------------------------------------------------------

MSG_IDS = st.integers(0, 7)  # a few msg_ids, so that generated records hit subscribed ones


@st.composite
def tables(draw: st.DrawFn) -> np.ndarray:
    """A per-msg_id table as the reader fills it: zeros (nobody subscribed) or a timestamp
    offset, a size range with room for it (at least 7) and a kept topic or -1."""
    lut = np.zeros((1 << 16, 4), np.int32)
    for msg_id in draw(st.sets(MSG_IDS)):
        ts = draw(st.sampled_from([-1, 0, 0, 4, 12]))
        low = draw(st.integers(max(ts + 8, 7), 40))
        high = draw(st.sampled_from([low, low + 8, 0xFFFF]))
        lut[msg_id] = (ts, low, high, draw(st.integers(-1, 2)))
    return lut


def message(kind: int, payload: bytes) -> bytes:
    return len(payload).to_bytes(2, "little") + bytes([kind]) + payload


@st.composite
def buffers(draw: st.DrawFn) -> bytes:
    """Messages of every type (data records mostly, some too short or too long for their
    msg_id, timestamps up to 2**64 - 1), then maybe damage: flipped bytes, a cut."""
    out = bytearray()
    for _ in range(draw(st.integers(0, 30))):
        kind = draw(st.sampled_from(b"DDDDDDABCFILMOPQRSZ\x00\xff"))
        if kind == ord("D"):
            stamp = draw(st.sampled_from([0, 1, 5_000_000, 2**63 - 1, 2**63, 2**64 - 1]))
            body = stamp.to_bytes(8, "little") + draw(st.binary(max_size=40))
            payload = draw(MSG_IDS).to_bytes(2, "little") + body
            payload = payload[: draw(st.integers(0, len(payload)))]
        else:
            payload = draw(st.binary(max_size=20))
        out += message(kind, payload)
    for _ in range(draw(st.integers(0, 3))):
        if out:
            out[draw(st.integers(0, len(out) - 1))] = draw(st.integers(0, 255))
    return bytes(out[: draw(st.integers(0, len(out)))])


@FUZZ
@given(data=buffers(), lut=tables(), definitions=st.booleans(), slack=st.sampled_from([0, 16]))
def test_walk_matches_python(data: bytes, lut: np.ndarray, definitions: bool, slack: int) -> None:
    buf = np.frombuffer(data + bytes(slack), np.uint8)
    same_walk(buf, 0, len(data), definitions, lut)


@FUZZ
@given(data=buffers(), lut=tables(), cut=st.integers(0, 400))
def test_walk_stops_at_the_end_given(data: bytes, lut: np.ndarray, cut: int) -> None:
    """Walking to ``end`` and then on gives what walking the whole does (a window end, a
    chunk end): it stops at the first message ``end`` cuts, which stays untouched."""
    end = min(cut, len(data))
    buf = np.frombuffer(data, np.uint8)
    head, state, p = drive(scan.walk, buf, 0, end, False, lut, 1 << 12)
    assert p <= end and (p + 3 > end or p + 3 + (data[p] | data[p + 1] << 8) > end)
    rest, rest_state, rest_p = drive(scan.walk, buf, p, len(data), False, lut, 1 << 12)
    whole, whole_state, whole_p = drive(scan.walk, buf, 0, len(data), False, lut, 1 << 12)
    assert head + rest == whole and rest_p == whole_p
    counters = [k for k in range(scan.STATE_SIZE) if k not in (scan.FIRST_T, scan.LAST_T)]
    assert [state[k] + rest_state[k] for k in counters] == [whole_state[k] for k in counters]
    assert max(state[scan.LAST_T], rest_state[scan.LAST_T]) == whole_state[scan.LAST_T]


def test_walk_cases() -> None:
    lut = np.zeros((1 << 16, 4), np.int32)
    lut[1] = (0, 12, 20, 0)  # kept topic 0, timestamp first
    lut[2] = (4, 12, 12, -1)  # not kept, timestamp at 4
    lut[3] = (-1, 7, 0xFFFF, 1)  # kept topic 1, no timestamp
    stamp = (7_000).to_bytes(8, "little")
    data = b"".join(
        [
            message(ord("D"), b"\x01\x00" + stamp + bytes(4)),  # kept
            message(ord("D"), b"\x02\x00" + bytes(4) + (9_000).to_bytes(8, "little")),
            message(ord("D"), b"\x03\x00" + bytes(7)),  # kept, no timestamp
            message(ord("D"), b"\x01\x00" + stamp),  # too short: bad
            message(ord("D"), b"\x09\x00" + stamp + bytes(4)),  # nobody subscribed
            message(ord("S"), bytes(8)),
            message(ord("L"), bytes(9)),
            message(ord("O"), (25).to_bytes(2, "little")),
            message(ord("A"), b"\x00\x05\x00topic"),  # an event
            message(ord("D"), b"\x01\x00" + (2**64 - 1).to_bytes(8, "little") + bytes(4)),
            message(ord("B"), bytes(40)),  # for the reader, now
        ]
    )
    buf = np.frombuffer(data, np.uint8)
    listed, state, p = drive(scan.walk, buf, 0, len(data), False, lut, 16)
    offsets = [i for i in range(len(data) - 2) if buf[i + 2] in b"DSLOAB"]  # no stray ones
    assert [(k, o) for k, o, _ in listed] == [
        ("kept", offsets[0] + 5),
        ("kept", offsets[2] + 5),
        ("event", offsets[8]),
        ("kept", offsets[9] + 5),
        ("message", offsets[10]),
    ]
    assert state[scan.FIRST_T] == 7_000 and state[scan.LAST_T] == I64_MAX  # clamped
    assert (state[scan.BAD_RECORDS], state[scan.UNSUBSCRIBED]) == (1, 1)
    assert (state[scan.SYNCS], state[scan.LOG_MESSAGES], state[scan.DROPOUTS]) == (1, 1, 1)
    assert state[scan.DROPOUT_MS] == 25 and p == len(data)
    same_walk(buf, 0, len(data), False, lut)
    for stamps, first, last in [([0], -1, 0), ([1, 0], 1, 1), ([2**64 - 1], I64_MAX, I64_MAX)]:
        records = [
            message(ord("D"), b"\x01\x00" + t.to_bytes(8, "little") + bytes(4)) for t in stamps
        ]
        one = np.frombuffer(b"".join(records), np.uint8)
        _, state, _ = drive(scan.walk, one, 0, len(one), False, lut, 16)
        assert (state[scan.FIRST_T], state[scan.LAST_T]) == (first, last), stamps


def test_walk_stops_before_data_after_events() -> None:
    """A subscription changes how later records read: the walk hands its events over before
    it takes one."""
    data = message(ord("A"), b"\x00\x01\x00t") + message(ord("D"), b"\x01\x00" + bytes(8))
    buf = np.frombuffer(data, np.uint8)
    kept, topics, events = (np.zeros(4, np.int64), np.zeros(4, np.int32), np.zeros(4, np.int64))
    state = np.zeros(scan.STATE_SIZE, np.int64)
    lut = np.zeros((1 << 16, 4), np.int32)
    p, status = scan.walk(buf, 0, len(data), False, lut, kept, topics, events, state)
    assert (p, status, state[scan.EVENTS], state[scan.UNSUBSCRIBED]) == (7, scan.FULL, 1, 0)


def test_bad_arguments_refused() -> None:
    """The compiled code checks no index: what would make one run off an array is refused."""
    buf = np.zeros(10, np.uint8)
    lut = np.zeros((1 << 16, 4), np.int32)
    outs = (np.zeros(4, np.int64), np.zeros(4, np.int32), np.zeros(4, np.int64))
    state = np.zeros(scan.STATE_SIZE, np.int64)
    for args in [(buf, 0, 11, False, lut), (buf, -1, 5, False, lut), (buf, 0, 5, False, lut[:9])]:
        with pytest.raises(ValueError):
            scan.walk(*args, *outs, state)
    with pytest.raises(ValueError):
        scan.walk(buf, 0, 5, False, lut, outs[0], outs[1][:2], outs[2], state)
    with pytest.raises(ValueError):
        scan.group(outs[0], np.array([0, 5, 1, 0], np.int32), 4, np.zeros(2, np.int64), outs[2])
    with pytest.raises(ValueError):
        scan.group(outs[0], outs[1], 5, np.zeros(2, np.int64), outs[2])


def test_group() -> None:
    rng = np.random.default_rng(0)
    for n in (0, 1, 1000):
        topics = rng.integers(0, 5, n).astype(np.int32)
        kept = rng.integers(0, 1 << 20, n).astype(np.int64)
        counts, out = np.zeros(5, np.int64), np.zeros(n, np.int64)
        scan.group(kept, topics, n, counts, out)
        want_counts, want_out = np.zeros(5, np.int64), np.zeros(n, np.int64)
        python_group(kept, topics, n, want_counts, want_out)
        assert np.array_equal(out, want_out) and np.array_equal(counts, want_counts)


@settings(deadline=None)
@given(st.lists(st.integers(-(2**63), 2**63 - 1), max_size=12))
def test_time_order(values: list[int]) -> None:
    t = np.array(values, np.int64)
    assert scan.time_order(t) == python_time_order(t)


def test_constants_agree() -> None:
    """ulog.py names the walk's slots without importing numba: the same numbers."""
    assert (ulog._S_SYNCS, ulog._S_LOG_MESSAGES, ulog._S_DROPOUTS, ulog._S_DROPOUT_MS) == (
        scan.SYNCS,
        scan.LOG_MESSAGES,
        scan.DROPOUTS,
        scan.DROPOUT_MS,
    )
    assert (ulog._S_BAD_RECORDS, ulog._S_UNSUBSCRIBED, ulog._S_FIRST_T, ulog._S_LAST_T) == (
        scan.BAD_RECORDS,
        scan.UNSUBSCRIBED,
        scan.FIRST_T,
        scan.LAST_T,
    )
    assert (ulog._S_KEPT, ulog._S_EVENTS, ulog._STATE_SIZE) == (
        scan.KEPT,
        scan.EVENTS,
        scan.STATE_SIZE,
    )
    assert (ulog._END, ulog._MESSAGE, ulog._FULL) == (scan.END, scan.MESSAGE, scan.FULL)


# --- the reader: compiled walk or Python walk, any chunk, any window -------------------------


def outcome(path: Path, chunk_size: int = 1 << 24) -> Any:
    """Everything a read gives: the series, the log's facts, its metadata (or the error)."""
    try:
        reader = ulog._run(path, chunk_size)
        data = reader.result()
    except LogError as e:
        return ("LogError", str(e))
    series = {
        name: (getattr(data, name).t.tolist(), getattr(data, name).v.tobytes()) for name in SERIES
    }
    facts = (data.first_t, data.last_t, data.start_us, data.vehicle_id, data.size)
    meta = (
        reader.parameters(),
        reader.default_parameters(),
        reader.info_multiple(),
        reader.info,
        reader.log_messages,
        reader.syncs,
    )
    return series, facts, data.speed_kind, data.warnings, meta


def with_python_walk(monkeypatch: pytest.MonkeyPatch, path: Path, chunk: int = 1 << 24) -> Any:
    with monkeypatch.context() as m:
        m.setattr(ulog, "_SCAN", PYTHON_SCAN)
        return outcome(path, chunk)


@pytest.mark.shared_data
@pytest.mark.parametrize("name", ["test.ulg", "14_19_29.ulg"])
def test_shared_logs_compiled_as_python(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    path = shared_log(name)
    compiled = outcome(path)
    assert compiled[3] == []  # clean logs: no warning
    assert with_python_walk(monkeypatch, path) == compiled


@FUZZ
@given(
    cut=st.integers(0, len(FUZZ_BASE)),
    flips=st.lists(st.tuples(st.integers(0, len(FUZZ_BASE) - 1), st.integers(0, 255)), max_size=8),
    insert=st.tuples(st.integers(0, len(FUZZ_BASE)), st.binary(max_size=40)),
    chunk=st.sampled_from([64, 256, 1 << 20]),
    window=st.sampled_from([16, 100, 1 << 20]),
)
def test_damaged_logs_compiled_as_python(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    cut: int,
    flips: list[tuple[int, int]],
    insert: tuple[int, bytes],
    chunk: int,
    window: int,
) -> None:
    data = bytearray(FUZZ_BASE)
    for at, value in flips:
        data[at] = value
    data[insert[0] : insert[0]] = insert[1]
    path = tmp_path / "damaged.ulg"
    path.write_bytes(bytes(data[:cut]))
    with monkeypatch.context() as m:
        m.setattr(ulog, "_WINDOW", window)
        compiled = outcome(path, chunk)
        assert with_python_walk(m, path, chunk) == compiled
    assert outcome(path) == compiled  # and whatever the chunk and window


CHUNKS = [
    (64, 16),
    (64, 1 << 20),
    (100, 7),
    (333, 150),
    (4096, 3),
    (1 << 20, 64),
    (1 << 24, 1 << 20),
]


@pytest.mark.parametrize(("chunk", "window"), CHUNKS)
def test_synthetic_any_chunk_any_window(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int, window: int
) -> None:
    path = tmp_path / "log.ulg"
    path.write_bytes(synthetic(uuid=True))
    whole = outcome(path)
    monkeypatch.setattr(ulog, "_WINDOW", window)
    assert outcome(path, chunk) == whole


@pytest.mark.shared_data
@pytest.mark.parametrize(("chunk", "window"), [(70_000, 1000), (1 << 17, 1 << 20), (1 << 24, 4096)])
def test_shared_log_any_chunk_any_window(
    monkeypatch: pytest.MonkeyPatch, chunk: int, window: int
) -> None:
    path = shared_log("test.ulg")
    whole = outcome(path)
    monkeypatch.setattr(ulog, "_WINDOW", window)
    assert outcome(path, chunk) == whole


def test_outputs_fill_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Outputs smaller than a window's records: handed over as often as needed."""
    path = tmp_path / "log.ulg"
    path.write_bytes(synthetic())
    whole = outcome(path)
    monkeypatch.setattr(ulog, "_KEPT_CAPACITY", (1, 5))
    monkeypatch.setattr(ulog, "_EVENTS_CAPACITY", 2)
    assert outcome(path) == whole


def test_cut_anywhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A log cut at every byte after its first subscription reads as its beginning (each
    series a prefix of the whole log's), says so when the cut is inside a message, and reads
    the same with either walk."""
    full = synthetic(n=6)
    path = tmp_path / "cut.ulg"
    path.write_bytes(full)
    whole = outcome(path)
    found = messages(full)
    data_start = next(found[i + 1][0] for i, (_, kind) in enumerate(found) if kind == "A")
    appended = int.from_bytes(full[16 + 3 + 16 : 16 + 3 + 24], "little")  # from the B message
    starts = {at for at, _ in messages(full[:appended])} | {appended}
    starts |= {appended + at - 16 for at, _ in messages(bytes(16) + full[appended:])}
    for cut in range(data_start, len(full)):
        path.write_bytes(full[:cut])
        compiled = outcome(path, 256)
        series, _, speed_kind, warnings, _ = compiled
        assert (cut in starts) != any(w.startswith("file truncated") for w in warnings), cut
        for name in SERIES:
            if name == "speed" and speed_kind != whole[2]:
                continue  # cut before the first airspeed sample: ground speed, rightly
            t, v = series[name]
            assert t == whole[0][name][0][: len(t)], (cut, name)
            assert v == whole[0][name][1][: len(v)], (cut, name)
        if cut % 5 == 0:
            assert with_python_walk(monkeypatch, path, 256) == compiled, cut


def test_records_before_their_subscription(tmp_path: Path) -> None:
    """A record of a msg_id not subscribed yet is unknown (as pyulog has it), even when its
    subscription follows in the same window."""
    w = Writer()
    w.fmt("battery_status", "uint64_t timestamp;float voltage_v;float current_a;")
    w.data(1, "Qff", 1_000_000, 12.0, 1.0)
    w.add(0, 1, "battery_status")
    w.data(1, "Qff", 1_000_001, 11.0, 1.0)
    path = tmp_path / "early.ulg"
    path.write_bytes(bytes(w.out))
    data = ulog.read(path)
    assert data.battery_v.t.tolist() == [1_000_001]
    assert data.warnings == ["1 data messages for unknown msg_ids skipped"]


# --- numba only when reading, and not needed at all ------------------------------------------


def test_import_does_not_load_numba() -> None:
    code = "import sys, kanat.flightlogs; print('numba' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout.strip() == "False"


def test_runs_without_jit(tmp_path: Path) -> None:
    """``NUMBA_DISABLE_JIT=1``: the same functions, interpreted, read the same."""
    path = tmp_path / "log.ulg"
    path.write_bytes(synthetic(uuid=True))
    code = (
        "import sys, pickle; from pathlib import Path;"
        "from tests.flightlogs.test_ulogscan import outcome;"
        "sys.stdout.buffer.write(pickle.dumps(outcome(Path(sys.argv[1]))))"
    )
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1"}
    out = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, check=True, cwd=ROOT, env=env
    )
    assert pickle.loads(out.stdout) == outcome(path)


def test_runs_where_nothing_can_be_cached(tmp_path: Path) -> None:
    """No writable place for numba's cache (a read-only install): compiled in the process."""
    path = tmp_path / "log.ulg"
    path.write_bytes(synthetic(uuid=True))
    code = (
        "import os, sys, types, pickle; from pathlib import Path;"
        "m = types.ModuleType('nowhere'); sys.modules['nowhere'] = m;"
        "exec('class Nowhere:\\n @classmethod\\n def from_function(cls, f, p): return None',"
        " m.__dict__);"
        "os.environ['NUMBA_CACHE_LOCATOR_CLASSES'] = 'nowhere.Nowhere';"
        "from tests.flightlogs.test_ulogscan import outcome;"
        "from kanat.flightlogs import _ulogscan;"
        "assert _ulogscan.walk._cache.__class__.__name__ == 'NullCache';"
        "sys.stdout.buffer.write(pickle.dumps(outcome(Path(sys.argv[1]))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, check=True, cwd=ROOT
    )
    assert pickle.loads(out.stdout) == outcome(path)
