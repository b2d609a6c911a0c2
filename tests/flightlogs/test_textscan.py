"""The compiled tokenizer of DataFlash text logs (``kanat.flightlogs._textscan``).

Its number fast path against ``float()`` and ``np.fromstring`` (bit for bit), odd lines,
lines cut across chunks, chunk sizes tiny and large, and the slow path as the oracle: every
line forced through it (the per-line numpy reading) gives the same log as the fast path.
"""

from __future__ import annotations

import dataclasses
import io
import os
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from kanat.flightlogs import _textscan as ts
from kanat.flightlogs import dataflash
from kanat.flightlogs.base import LogData, LogError, Series

from .conftest import SERIES, check_series, shared_log
from .test_dataflash import _edits, _mutate, synthetic_text

# numba compiles on the first call (cached per machine afterwards): not inside a deadline
_cases = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module", autouse=True)
def _compiled() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "w.log"
        path.write_text(synthetic_text(nan=True))
        dataflash.read(path)
    _number(b"1.5")


def _number(text: bytes) -> tuple[bool, float]:
    """The fast path on one field (followed by a comma, as in a line)."""
    arr = np.frombuffer(text + b",", np.uint8).copy()
    ok, v, p = ts.number(arr, 0, len(text))  # arr[len(text)] is the comma
    if ok:
        assert p == len(text)  # stopped at the field's end
    return bool(ok), float(v)


def _bits(x: float) -> int:
    return int(np.float64(x).view(np.uint64))


def _fromstring(text: bytes) -> float | None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            got = np.fromstring(text + b",", dtype=np.float64, sep=",")
        except ValueError:
            return None
    return float(got[0]) if len(got) == 1 else None


# --- the number fast path ----------------------------------------------------------------------


@st.composite
def decimals(draw: st.DrawFn) -> bytes:
    """Decimal numbers as loggers write them, in every shape the fast path takes."""
    sign = draw(st.sampled_from(["", "-", "+"]))
    digits = draw(st.integers(1, 18))
    mantissa = str(draw(st.integers(0, 10**digits - 1))).zfill(draw(st.integers(1, digits)))
    point = draw(st.integers(0, len(mantissa)))
    lead = draw(st.sampled_from(["", "0", "00"]))
    text = lead + mantissa[:point] + "." + mantissa[point:] if draw(st.booleans()) else mantissa
    if text.startswith(".") and draw(st.booleans()):
        text = "0" + text
    if draw(st.booleans()):
        text += draw(st.sampled_from("eE")) + draw(st.sampled_from(["", "-", "+"]))
        text += str(draw(st.integers(0, 30))).zfill(draw(st.integers(1, 3)))
    pad = st.text(alphabet=" \t\r", max_size=2)
    return (draw(pad) + sign + text + draw(pad)).encode()


@_cases
@given(decimals())
@example(b"0.1")
@example(b"-0")
@example(b"-0.0e99")
@example(b"9007199254740993")  # 2**53 + 1: not exact, left to the slow path
@example(b"123456789012345678")
@example(b"1e22")
@example(b"1e23")
@example(b"4.35e-22")
@example(b" 17.25\r")
def test_fast_path_is_float(text: bytes) -> None:
    ok, v = _number(text)
    assert ok == _in_fast_path(text), text
    if ok:
        assert _bits(v) == _bits(float(text)), text
        ref = _fromstring(text)
        assert ref is not None and _bits(v) == _bits(ref), text


def _in_fast_path(text: bytes) -> bool:
    """At most 18 digits, a mantissa up to 2**53 and a power of ten within ±22 (or zero)."""
    body = text.strip().lstrip(b"+-").lower()
    mantissa, _, exp = body.partition(b"e")
    whole, _, frac = mantissa.partition(b".")
    digits = whole + frac
    m, exp10 = int(digits), int(exp or b"0") - len(frac)
    return len(digits) <= 18 and (m == 0 or m <= 2**53 and -22 <= exp10 <= 22)


@_cases
@given(st.integers(0, 2**53), st.integers(-22, 22), st.booleans())
def test_fast_path_taken(mantissa: int, exp10: int, neg: bool) -> None:
    """Within its bounds (mantissa <= 2**53, power of ten within ±22) the path is taken."""
    text = f"{'-' if neg else ''}{mantissa}e{exp10}".encode()
    ok, v = _number(text)
    assert ok and _bits(v) == _bits(float(text))


@pytest.mark.parametrize(
    ("text", "value"),
    [
        (b"nan", "nan"),
        (b"NaN", "nan"),
        (b" NAN ", "nan"),
        (b"inf", "inf"),
        (b"-Infinity", "-inf"),
        (b"+inf", "inf"),
    ],
)
def test_fast_path_words(text: bytes, value: str) -> None:
    ok, v = _number(text)
    assert ok and _bits(v) == _bits(float(value))


@pytest.mark.parametrize(
    "text",
    [
        b"",
        b"  ",
        b"\r",
        b"-",
        b".",
        b"1e",
        b"1e+",
        b"e5",
        b"1.2.3",
        b"1 2",
        b"0x10",
        b"1_000",  # float() takes it, numpy not: the slow path decides
        b"-nan",  # numpy: nan, float(): -nan
        b"nan(123)",
        b"nanx",
        b"infinit",
        b"1e400",
        b"12345678901234567890",
        b"1.5\x00",
        b"\xc3\xa91",
    ],
)
def test_fast_path_declines(text: bytes) -> None:
    assert not _number(text)[0]


@_cases
@given(
    st.binary(max_size=12)
    | st.text(alphabet="0123456789.eE+-naifNAIF \t", max_size=12).map(str.encode)
)
def test_fast_path_never_disagrees(text: bytes) -> None:
    """Any text: when the fast path takes it, numpy and float() read the same number."""
    text = text.replace(b",", b"").replace(b"\n", b"")
    ok, v = _number(text)
    if ok:
        assert _bits(v) == _bits(float(text)) or np.isnan(v) and np.isnan(float(text))
        ref = _fromstring(text)
        assert ref is not None and (_bits(ref) == _bits(v) or np.isnan(ref) and np.isnan(v))


# --- lines ---------------------------------------------------------------------------------------


def _scan(raw: bytes, final: bool = True) -> tuple[list[int], list[int]]:
    arr = np.frombuffer(raw + bytes(dataflash.PAD), np.uint8).copy()
    starts, keys, fmt = ts.scan_lines(arr, len(raw), final, dataflash._name_key("EV"))
    assert fmt.tolist() == [
        i for i, k in enumerate(keys.tolist()) if k == dataflash._name_key("EV")
    ]
    return starts.tolist(), keys.tolist()


def test_scan_lines() -> None:
    key = dataflash._name_key
    raw = b"IMU, 1, 2\r\n\nhello\nEV,10\nABCDEFGH,1\nABCD\0\0\0\0,1\n,x,1\nGPS\0,1\nEV\r\nEV,"
    starts, keys = _scan(raw)
    assert starts[0] == 0 and starts[-1] == len(raw) + 1  # the last line has no newline
    lines = [raw[a : b - 1] for a, b in zip(starts[:-1], starts[1:], strict=True)]
    assert lines == raw.split(b"\n")
    assert keys == [
        key("IMU"),
        ts.NOT_RECORD,
        ts.NOT_RECORD,
        key("EV"),
        ts.LONG_NAME,
        key("ABCD"),  # trailing NUL bytes of a name are not part of it (as numpy read it)
        key(",x"),  # a comma at index 0 is not the name's end
        key("GPS"),
        ts.NOT_RECORD,  # "EV" and a CR: no comma
        key("EV"),  # "EV," with nothing after the comma is a record (a bad one)
    ]
    starts, keys = _scan(raw, final=False)  # not the end: the last line waits for more
    assert len(keys) == 9 and starts[-1] == raw.rindex(b"\n") + 1
    assert _scan(b"") == ([0], [])
    assert _scan(b"\n\n") == ([0, 1, 2], [ts.NOT_RECORD, ts.NOT_RECORD])


def _read_text(text: str | bytes, chunk_size: int = 1 << 24) -> LogData:
    raw = text.encode() if isinstance(text, str) else text
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "t.log"
        path.write_bytes(raw)
        return dataflash.read(path, chunk_size=chunk_size)


def _state(d: LogData) -> dict[str, object]:
    """Everything a read gives, the series as bytes (NaN and -0.0 compared bit for bit)."""
    out: dict[str, object] = {}
    for f in dataclasses.fields(d):
        v = getattr(d, f.name)
        if isinstance(v, Series):
            v = (v.t.dtype.str, v.t.tobytes(), v.v.dtype.str, v.v.shape, v.v.tobytes())
        out[f.name] = v
    return out


def _same(a: LogData, b: LogData, *, size: bool = True) -> None:
    sa, sb = _state(a), _state(b)
    assert sa.keys() == sb.keys()
    for k in sa:
        assert sa[k] == sb[k] or k == "size" and not size, k


def test_crlf_same_as_lf() -> None:
    text = synthetic_text(nan=True)
    _same(_read_text(text), _read_text(text.replace("\n", "\r\n")), size=False)


def test_missing_extra_and_odd_fields() -> None:
    base = synthetic_text()
    text = (
        base.replace("IMU, 1020, 0.1,", "IMU, 1020,")  # a field missing: bad
        .replace(
            "IMU, 1040, 0.1, 0.2, 0.3, 0.0200, 0.5, -9.8",
            "IMU, 1040, 0.1, 0.2, 0.3, 0.0200, 0.5, -9.8, 7, 8",
        )  # extra numbers: fine
        .replace(
            "IMU, 1060, 0.1, 0.2, 0.3, 0.0300, 0.5, -9.8",
            "IMU, 1060, 0.1, 0.2, 0.3, 0.0300, 0.5, -9.8, junk",
        )  # an extra word: bad (numpy read every field)
        .replace("IMU, 1080, 0.1,", "IMU, 1080, 1_0,")  # numpy does not read 1_0: bad
        .replace("IMU, 1100, 0.1,", "IMU, 1100, 0.100000000000000000001,")  # long: fine
        .replace(
            "IMU, 1100, 0.1, 0.2, 0.3, 0.0500", "IMU, 1100, 0.1, 0.2, 0.3, 0.050000000000000000001"
        )
        .replace("IMU, 1120, 0.1, 0.2, 0.3, 0.0600", "IMU, 1120, 0.1, 0.2, 0.3, -nan")  # numpy: nan
        .replace("IMU, 1140, 0.1, 0.2, 0.3, 0.0700", "IMU, 1140, 0.1, 0.2, 0.3, nan(1)")
        .replace("IMU, 1160, 0.1, 0.2, 0.3, 0.0800", "IMU, 1160, 0.1, 0.2, 0.3, \t")  # numpy: -1
        .replace("IMU, 1180, 0.1, 0.2, 0.3, 0.0900", "IMU, 1180, 0.1, 0.2, 0.3, 1e400")
        .replace("IMU, 1200, 0.1, 0.2, 0.3, 0.1000", "IMU, 1200, 0.1, 0.2, 0.3, 0.1\u00e9")  # bad
        .replace("IMU, 1220, 0.1,", "IMU\u00e9, 1220, 0.1,")  # not a record we know
        .replace("MODE, Stabilize, 424", "MODE, Stabilize, 424\n\n\n")  # empty lines
        .replace("MSG, PX4: bf42b124", "MSG, PX4\u00e9: bf42b124")
    )
    d = _read_text(text)
    t = d.accel.t // 1000
    v = dict(zip(t.tolist(), d.accel.v[:, 0].tolist(), strict=True))
    assert not {1020, 1060, 1080, 1200, 1220} & v.keys()
    assert v[1040] == 0.02 and v[1100] == 0.05 and v[1180] == np.inf
    assert np.isnan(v[1120]) and np.isnan(v[1140]) and v[1160] == -1.0
    assert d.accel.v[list(t).index(1120), 0].view(np.uint64) == np.float64("nan").view(np.uint64)
    assert len(d.accel) == 40 - 5
    assert "4 line(s) with unreadable fields skipped" in d.warnings
    assert "1 line(s) that are not log records skipped" in d.warnings


def test_slow_path_is_the_numpy_reading() -> None:
    """Odd lines give what np.fromstring gives for them (the numpy reader), line by line."""
    fields = ["1_0", "-nan", "nan(x)", " ", "1e400", "0x1", "12345678901234567890", "5.", ".5"]
    for f in fields:
        line = f"IMU, 1000, 0.1, 0.2, 0.3, {f}, 0.5, -9.8"
        d = _read_text(
            synthetic_text().replace("IMU, 1000, 0.1, 0.2, 0.3, 0.0000, 0.5, -9.8", line)
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                ref = np.fromstring(line[4:] + ",", sep=",")
            except ValueError:
                ref = None
        if ref is None:
            assert d.accel.t[0] == 1_020_000, f
        else:
            assert d.accel.t[0] == 1_000_000, f
            assert d.accel.v[0, 0].view(np.uint64) == ref[4].view(np.uint64), f


def test_time_beyond_int64() -> None:
    """A boot time whose µs do not fit int64: numpy's cast decides, as it did."""
    ms = 10**17
    text = synthetic_text().replace("IMU, 1100, ", f"IMU, {ms}, ")
    d = _read_text(text)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cast = int(np.round(np.array([float(ms)]) * 1000).astype(np.int64)[0])
    if cast < 0:  # untimed (x86): the time before
        assert d.accel.t[5] == d.accel.t[4] == 1_080_000
    else:  # saturated (elsewhere): its own
        assert d.accel.t[-1] == cast
    assert len(d.accel) == 40


def test_words_type_reads_as_float() -> None:
    """A kept type with a word column (here GPS with a name) is read with float()."""
    cols = "Status,TimeMS,Week,NSats,HDop,Lat,Lng,RelAlt,Alt,Spd,GCrs,VZ,T"
    text = synthetic_text().replace(
        f"FMT, 130, 45, GPS, BIHBcLLeeEefI, {cols}",
        f"FMT, 130, 70, GPS, BIHBcLLeeEefIN, {cols},Name",
    )
    assert "GPS, BIHBcLLeeEefIN" in text
    text = text.replace("287.33, -1.2, 1000", "287.33, -1.2, 1000, some name")
    text = text.replace("287.33, -1.2, 1200", "287.33, -1.2, 1200, x, 1_0, -nan")
    text = text.replace("287.33, -1.2, 1400", "287.33, -1.2, 1400, y")
    text = text.replace("GPS, 3, 56674400", "GPS, 3, 1_0")
    d = _read_text(text)
    assert d.speed_kind == "ground"
    # 4 GPS lines, one without the name (too few fields: bad); 1_0 is a float(): fine
    assert len(d.speed) == 3
    assert "1 line(s) with unreadable fields skipped" in d.warnings


# --- chunks --------------------------------------------------------------------------------------


def _stream(raw: bytes, chunk: int) -> LogData:
    """Read through the streaming loop with any chunk size (``read`` takes 1024 or more)."""
    col = dataflash._Collector()
    size = dataflash._stream(io.BytesIO(raw), chunk, dataflash._Text(col, chunk))
    return col.finish("dataflash-text", size)


def _logs() -> Iterator[bytes]:
    yield synthetic_text(nan=True).encode()
    yield synthetic_text().replace("\n", "\r\n").encode()
    yield (synthetic_text() + "IMU, 5000, 1, 2, 3, 4, 5, 6").encode()  # no newline at the end


@pytest.mark.parametrize("raw", list(_logs()), ids=["lf", "crlf", "open-end"])
def test_lines_cut_across_chunks(raw: bytes) -> None:
    whole = _stream(raw, 1 << 20)
    for chunk in (1, 2, 3, 5, 7, 11, 13, 17, 31, 64, 97, 128, 251, 1000):
        _same(whole, _stream(raw, chunk))


@pytest.mark.parametrize("raw", list(_logs()), ids=["lf", "crlf", "open-end"])
def test_chunk_size_tiny_or_large(raw: bytes) -> None:
    whole = _read_text(raw)
    _same(whole, _stream(raw, 1 << 20))
    for chunk in range(1024, 1024 + 90):  # every cut of a line at the chunk's end
        _same(whole, _read_text(raw, chunk_size=chunk))


@pytest.mark.shared_data
@pytest.mark.parametrize("name", ["nan.log", "robert_lefebvre_octo_PM.log"])
def test_shared_logs_any_chunk_size(name: str) -> None:
    raw = shared_log(name).read_bytes()
    whole = dataflash.read(shared_log(name))
    for chunk in (1024, 1500, 4099, 65536, 1 << 20):
        _same(whole, dataflash.read(shared_log(name), chunk_size=chunk))
    _same(whole, _stream(raw, 333))


# --- the slow path as the oracle ---------------------------------------------------------------


def _all_slow(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every kept line through the slow path (the numpy reader's per-line reading)."""
    fast: Any = ts.parse_chunk

    def slow(*args: object) -> tuple[object, ...]:
        got = fast(*args)
        status, clock = got[6], got[-1]  # (tid, ..., line, status, rt, times, wlines, clock)
        assert status.dtype == np.int8 and len(clock) == 7
        status[:] = ts.FALLBACK
        clock[ts.C_FALLBACK] = len(status)
        return tuple(got)

    monkeypatch.setattr(ts, "parse_chunk", slow)


def _read_or_error(raw: bytes, chunk: int) -> dict[str, object] | str:
    try:
        return _state(_read_text(raw, chunk))
    except LogError as e:
        return str(e).split(": ", 1)[1]  # without the (temporary) path


@_cases
@given(edits=_edits, cut=st.floats(0.05, 1.0), chunk=st.sampled_from([1024, 1500, 1 << 20]))
def test_fast_path_same_as_slow_path(
    edits: list[tuple[float, str, bytes]], cut: float, chunk: int
) -> None:
    raw = _mutate(synthetic_text(nan=True).encode(), edits, cut)
    fast = _read_or_error(raw, chunk)
    with pytest.MonkeyPatch.context() as mp:
        _all_slow(mp)
        slow = _read_or_error(raw, chunk)
    assert fast == slow
    if isinstance(fast, dict):
        d = _read_text(raw, chunk)
        for name in SERIES:
            check_series(getattr(d, name))


@_cases
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["IMU", "CTUN", "GPS", "EV", "CURR", "MSG", "PARM", "XYZ"]),
            st.lists(
                st.sampled_from(
                    [
                        "1",
                        "-2.5",
                        " 3 ",
                        "nan",
                        "-nan",
                        "1e3",
                        "1_0",
                        "",
                        " ",
                        "x",
                        "1e99",
                        "0.000001",
                        "12345678901234567890",
                        "+.5",
                        "inf",
                        "\u00e9",
                    ]
                ),
                max_size=16,
            ),
        ),
        max_size=30,
    ),
    st.sampled_from(["\n", "\r\n"]),
)
def test_odd_lines_fast_same_as_slow(lines: list[tuple[str, list[str]]], eol: str) -> None:
    head = synthetic_text().split("EV, 10\n")[0]
    body = eol.join(f"{name}, {','.join(fields)}" for name, fields in lines)
    raw = (head + body).encode()
    fast = _read_or_error(raw, 1 << 20)
    with pytest.MonkeyPatch.context() as mp:
        _all_slow(mp)
        assert _read_or_error(raw, 1 << 20) == fast


@pytest.mark.shared_data
@pytest.mark.parametrize("name", ["nan.log", "robert_lefebvre_octo_PM.log"])
def test_shared_logs_fast_same_as_slow(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    fast = dataflash.read(shared_log(name))
    _all_slow(monkeypatch)
    _same(fast, dataflash.read(shared_log(name)))


# --- without numba's compiler ------------------------------------------------------------------


def test_no_place_for_the_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """Where numba finds no writable cache place (it raises), the kernels compile anyway."""
    njit = ts.numba.njit

    def no_cache(**kw: Any) -> Any:
        if kw.get("cache"):
            raise RuntimeError("cannot cache function 'f': no locator available for file 'x'")
        return njit(**kw)

    monkeypatch.setattr(ts.numba, "njit", no_cache)

    def twice(x: int) -> int:
        return 2 * x

    assert ts._jit()(twice)(21) == 42


def test_runs_without_jit(tmp_path: Path) -> None:
    """NUMBA_DISABLE_JIT=1 (coverage runs): the kernels run as Python, same result."""
    path = tmp_path / "s.log"
    path.write_bytes(
        (synthetic_text(nan=True) + "IMU, 5000, 1_0, 2").replace("\n", "\r\n").encode()
    )
    code = (
        "import sys, pickle, dataclasses; from kanat.flightlogs import dataflash;"
        "from tests.flightlogs.test_textscan import _state;"
        "sys.stdout.buffer.write(pickle.dumps(_state(dataflash.read(sys.argv[1]))))"
    )
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1"}
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "-c", code, str(path)], env=env, cwd=root, capture_output=True, check=True
    ).stdout
    import pickle

    assert pickle.loads(out) == _state(dataflash.read(path))
