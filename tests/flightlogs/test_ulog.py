"""The streaming PX4 ULog reader, against pyulog on real logs and on logs built here."""

from __future__ import annotations

import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kanat.flightlogs import ulog
from kanat.flightlogs.base import LogData, LogError, Series

from .conftest import SERIES, shared_log

REAL_LOGS = ("test.ulg", "14_19_29.ulg")


# --- a small ULog writer ---------------------------------------------------------------------


class Writer:
    """Builds a ULog file message by message (little-endian, as the spec says)."""

    def __init__(self, timestamp: int = 1_000) -> None:
        self.out = bytearray(ulog.MAGIC + b"\x01" + struct.pack("<Q", timestamp))

    def msg(self, kind: str, payload: bytes) -> int:
        at = len(self.out)
        self.out += struct.pack("<HB", len(payload), ord(kind)) + payload
        return at

    def flags(self, incompat: int = 0, offsets: tuple[int, int, int] = (0, 0, 0)) -> int:
        return self.msg("B", bytes(8) + bytes([incompat]) + bytes(7) + struct.pack("<3Q", *offsets))

    def fmt(self, name: str, fields: str) -> None:
        self.msg("F", f"{name}:{fields}".encode())

    @staticmethod
    def _kv(ftype: str, name: str, value: bytes) -> bytes:
        key = f"{ftype} {name}".encode()
        return bytes([len(key)]) + key + value

    def info(self, name: str, value: str) -> None:
        self.msg("I", self._kv(f"char[{len(value)}]", name, value.encode()))

    def info_multiple(self, name: str, value: str, continued: bool) -> None:
        self.msg("M", bytes([continued]) + self._kv(f"char[{len(value)}]", name, value.encode()))

    def param(self, name: str, value: int | float, default_bits: int | None = None) -> None:
        raw = struct.pack("<i", value) if isinstance(value, int) else struct.pack("<f", value)
        payload = self._kv("int32_t" if isinstance(value, int) else "float", name, raw)
        if default_bits is None:
            self.msg("P", payload)
        else:
            self.msg("Q", bytes([default_bits]) + payload)

    def add(self, multi_id: int, msg_id: int, name: str) -> None:
        self.msg("A", struct.pack("<BH", multi_id, msg_id) + name.encode())

    def remove(self, msg_id: int) -> None:
        self.msg("R", struct.pack("<H", msg_id))

    def data(self, msg_id: int, fmt: str, *values: Any) -> None:
        self.msg("D", struct.pack("<H", msg_id) + struct.pack("<" + fmt, *values))

    def log(self, t: int, text: str, tag: int | None = None) -> None:
        if tag is None:
            self.msg("L", struct.pack("<BQ", ord("6"), t) + text.encode())
        else:
            self.msg("C", struct.pack("<BHQ", ord("6"), tag, t) + text.encode())

    def sync(self) -> None:
        self.msg("S", ulog.SYNC)

    def dropout(self, ms: int) -> None:
        self.msg("O", struct.pack("<H", ms))


UTC0 = 1_700_000_000_000_000
T0 = 1_000_000
DT = 100_000
N = 50


def alt(i: int) -> float:
    return float(max(0, min(i - 15, 35 - i, 10)))


def synthetic(*, uuid: bool = False, n: int = N) -> bytes:
    """A small log with every message type: nested formats and padding, two battery
    instances, a topic removed and its msg_id reused, dropouts, and appended data after a
    message cut in the middle."""
    w = Writer()
    flags_at = w.flags(incompat=1)  # "data appended": the offset is patched in at the end
    w.fmt("vec3", "float x;float y;float z;")
    w.fmt("esc_report", "uint32_t rpm;uint8_t state;uint8_t[3] _padding0;")
    w.fmt("vehicle_status", "uint64_t timestamp;uint8_t arming_state;uint8_t[7] _padding0;")
    w.fmt("vehicle_land_detected", "uint64_t timestamp;bool freefall;bool landed;")
    w.fmt(
        "vehicle_local_position",
        "uint64_t timestamp;vec3 pos;float z;float vx;float vy;float vz;",
    )
    w.fmt(
        "sensor_combined",
        "uint64_t timestamp;esc_report[2] esc;float[3] accelerometer_m_s2;"
        "uint8_t accelerometer_clipping;uint8_t[3] _padding0;",
    )
    w.fmt("battery_status", "uint64_t timestamp;float voltage_v;float current_a;")
    w.fmt(
        "airspeed_validated",
        "uint64_t timestamp;float indicated_airspeed_m_s;float calibrated_airspeed_m_s;",
    )
    w.fmt(
        "vehicle_gps_position",
        "uint64_t timestamp;uint64_t time_utc_usec;uint8_t fix_type;uint8_t[7] _padding0;",
    )
    w.fmt("vehicle_air_data", "uint64_t timestamp;float baro_alt_meter;float baro_temp_celcius;")
    w.fmt("vehicle_global_position", "uint64_t timestamp;float alt;float vel_d;")
    w.fmt("odd_topic", "uint32_t counter;uint64_t timestamp;")
    w.info("ver_hw", "TEST_HW")
    w.info("sys_name", "PX4")
    if uuid:
        w.info("sys_uuid", "0123abcd")
    w.info_multiple("boot_console_output", "line one\n", continued=False)
    w.info_multiple("boot_console_output", "line two\n", continued=True)
    w.param("SYS_AUTOSTART", 4001)
    w.param("MPC_XY_VEL_MAX", 12.0)
    w.param("MPC_XY_VEL_MAX", 10.0, default_bits=0b11)
    topics = ["vehicle_status", "vehicle_land_detected", "vehicle_local_position"]
    topics += ["sensor_combined", "battery_status"]
    for msg_id, name in enumerate(topics, start=1):
        w.add(0, msg_id, name)
    w.add(1, 6, "battery_status")
    w.add(0, 7, "airspeed_validated")
    w.add(0, 8, "vehicle_gps_position")
    w.add(0, 9, "vehicle_air_data")
    w.add(0, 10, "odd_topic")
    w.log(T0, "logging started")
    w.data(10, "IQ", 7, 500)  # the smallest timestamp of the log
    for i in range(n):
        t = T0 + i * DT
        armed = 2 if 10 <= i < 40 else 1
        if i % 2:  # with and without the trailing padding
            w.data(1, "QB7x", t, armed)
        else:
            w.data(1, "QB", t, armed)
        w.data(2, "Q??", t, False, not 15 <= i < 35)
        w.data(3, "Q3f4f", t, 1, 2, 3, -alt(i), 0.3, 0.4, -0.5)
        spike = 50.0 if i == 20 else 0.0
        w.data(4, "QIB3xIB3x3fB3x", t, 1, 2, 3, 4, spike, 0.0, -9.81, 0)
        w.data(5, "Qff", t, 16.0 - i * 0.01, 5.0)
        w.data(6, "Qff", t, 99.0, 99.0)  # instance 1: ignored
        w.data(7, "Qff", t, i * 0.4, i * 0.5)
        w.data(8, "QQB7x", t, UTC0 + t + 12_345 if i >= 5 else 0, 3 if i >= 5 else 0)
        if i < 20:
            w.data(9, "Qff", t, 100.0 + i, 21.5)
        else:
            w.data(9, "Qff", t, 100.0 + i, 0.5)  # vehicle_global_position since i == 20
        if i == 19:
            w.remove(9)
            w.add(0, 9, "vehicle_global_position")
        if i % 10 == 0:
            w.sync()
            w.log(t, f"tick {i}", tag=3)
        if i in (25, 30):
            w.dropout(10 if i == 25 else 25)
    w.out += struct.pack("<HB", 30, ord("D")) + b"0123456789"  # 30 bytes declared, 10 written
    appended = len(w.out)
    struct.pack_into("<Q", w.out, flags_at + 3 + 16, appended)
    t = T0 + n * DT
    w.data(5, "Qff", t, 15.0, 4.0)
    w.data(2, "Q??", t, False, True)
    return bytes(w.out)


def write(tmp_path: Path, data: bytes, name: str = "log.ulg") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def same(a: Series, b: Series) -> bool:
    return bool(
        np.array_equal(a.t, b.t)
        and a.v.shape == b.v.shape
        and np.allclose(a.v, b.v, equal_nan=True, rtol=1e-12, atol=0)
    )


# --- the synthetic log -----------------------------------------------------------------------


def test_sniff() -> None:
    assert ulog.sniff(synthetic()[:16])
    assert not ulog.sniff(b"ULog\x01\x12")
    assert not ulog.sniff(b"\xa3\x95\x80\x80")  # a DataFlash header


def test_synthetic_log(tmp_path: Path) -> None:
    path = write(tmp_path, synthetic())
    data = ulog.read(path)
    t = T0 + np.arange(N, dtype=np.int64) * DT
    assert data.format == "ulog"
    assert data.size == path.stat().st_size
    assert data.vehicle_id == "TEST_HW PX4"
    assert data.first_t == 1_000  # the header timestamp (odd_topic logs one at 500, before it)
    assert data.last_t == T0 + N * DT  # from the appended data
    assert data.start_us == UTC0 + 12_345

    assert np.array_equal(data.armed.t, t)
    assert np.array_equal(data.armed.v, ((t >= T0 + 10 * DT) & (t < T0 + 40 * DT)) * 1.0)
    assert np.array_equal(data.landed.t, np.append(t, T0 + N * DT))  # + the appended sample
    assert data.landed.v[15:35].sum() == 0 and data.landed.v[:15].all() and data.landed.v[-1]
    assert np.array_equal(data.altitude.v, [alt(i) for i in range(N)])  # z, not pos.z
    assert np.allclose(data.climb.v, 0.5)
    assert data.speed_kind == "air"
    assert np.allclose(data.speed.v, np.arange(N) * 0.5)  # calibrated, not indicated

    assert data.accel.v.shape == (N, 3)  # through two nested esc_report before it
    assert np.allclose(data.accel.v[:, 2], -9.81)
    magnitude = np.sqrt((data.accel.v**2).sum(axis=1))
    assert data.accel.t[magnitude.argmax()] == T0 + 20 * DT
    assert magnitude.max() == pytest.approx(np.hypot(50.0, 9.81))

    # vehicle_air_data until its msg_id was reused for vehicle_global_position
    assert np.array_equal(data.temperature.t, t[:20])
    assert np.allclose(data.temperature.v, 21.5)
    # instance 0 only, with the sample from the appended data
    assert np.allclose(data.battery_v.v, np.append(16.0 - np.arange(N) * 0.01, 15.0))
    assert np.allclose(data.battery_a.v, np.append(np.full(N, 5.0), 4.0))

    assert "2 dropouts: 35 ms of data lost in total" in data.warnings
    assert any("incomplete message before the data appended" in w for w in data.warnings)
    assert len(data.warnings) == 2, data.warnings


def test_synthetic_metadata(tmp_path: Path) -> None:
    reader = ulog._run(write(tmp_path, synthetic(uuid=True)))
    assert reader.info["ver_hw"] == "TEST_HW" and reader.info_types["ver_hw"] == "char[7]"
    assert reader.info_multiple() == {"boot_console_output": [["line one\n", "line two\n"]]}
    assert reader.parameters() == {"SYS_AUTOSTART": 4001, "MPC_XY_VEL_MAX": 12.0}
    assert reader.default_parameters() == {0: {"MPC_XY_VEL_MAX": 10.0}, 1: {"MPC_XY_VEL_MAX": 10.0}}
    assert reader.log_messages == 6 and reader.syncs == 5
    assert reader.result().vehicle_id == "0123abcd"


@pytest.mark.parametrize(("chunk_size", "window"), [(64, 64), (100, 100), (333, 150), (4096, 250)])
def test_chunk_boundaries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk_size: int, window: int
) -> None:
    path = write(tmp_path, synthetic())
    whole = ulog.read(path)
    monkeypatch.setattr(ulog, "_WINDOW", window)  # numpy's work is done a window at a time
    chunked = ulog.read(path, chunk_size=chunk_size)
    for name in SERIES:
        assert same(getattr(whole, name), getattr(chunked, name)), name
    assert (whole.first_t, whole.last_t, whole.start_us) == (
        chunked.first_t,
        chunked.last_t,
        chunked.start_us,
    )
    assert whole.warnings == chunked.warnings


def test_ground_speed_and_fallbacks(tmp_path: Path) -> None:
    w = Writer()
    w.fmt("vehicle_local_position", "uint64_t timestamp;float z;float vx;float vy;float vz;")
    w.fmt("actuator_armed", "uint64_t timestamp;bool armed;")
    w.fmt("sensor_accel", "uint64_t timestamp;uint32_t device_id;float x;float y;float z;")
    w.fmt(
        "vehicle_air_data",
        "uint64_t timestamp;float ambient_temperature;uint8_t temperature_source;",
    )
    w.fmt("sensor_baro", "uint64_t timestamp;float temperature;")
    w.fmt("airspeed_validated", "uint64_t timestamp;float calibrated_airspeed_m_s;")
    w.add(0, 0, "vehicle_local_position")
    w.add(0, 1, "actuator_armed")
    w.add(1, 2, "sensor_accel")
    w.add(0, 3, "sensor_accel")
    w.add(0, 4, "vehicle_air_data")
    w.add(0, 5, "sensor_baro")
    w.add(0, 6, "airspeed_validated")
    for i in range(4):
        t = T0 + i * DT
        w.data(0, "Q4f", t, -1.0, 3.0, 4.0, 0.0)
        w.data(1, "Q?", t, i >= 2)
        w.data(2, "QI3f", t, 2, 9.0, 9.0, 9.0)
        w.data(3, "QI3f", t, 1, 0.0, 1.0, -9.8)
        w.data(4, "QfB", t, 15.0 if i < 2 else 7.5, 0 if i < 2 else 1)  # 0: the 15 degC default
        w.data(5, "Qf", t, 40.0)
        w.data(6, "Qf", t, float("nan"))  # no airspeed sensor: NaN
    data = ulog.read(write(tmp_path, bytes(w.out)))
    assert data.speed_kind == "ground" and np.allclose(data.speed.v, 5.0)
    assert np.array_equal(data.armed.v, [0, 0, 1, 1])
    assert np.allclose(data.accel.v, [[0.0, 1.0, -9.8]] * 4)  # sensor_accel instance 0
    assert np.array_equal(data.temperature.t, T0 + np.array([2, 3]) * DT)  # measured only
    assert np.allclose(data.temperature.v, 7.5)
    assert data.start_us is None and data.vehicle_id is None
    assert data.warnings == []


# --- damaged and hostile files ---------------------------------------------------------------


@pytest.mark.parametrize("seed", range(5))
def test_garbage_after_header(tmp_path: Path, seed: int) -> None:
    garbage = np.random.default_rng(seed).integers(0, 256, 5000, dtype=np.uint8).tobytes()
    with pytest.raises(LogError):
        ulog.read(write(tmp_path, synthetic()[:16] + garbage))


def test_not_ulog(tmp_path: Path) -> None:
    header = synthetic()[:16]
    for data in (b"", header[:10], b"\xa3\x95\x80\x80" + bytes(100), header):
        with pytest.raises(LogError):
            ulog.read(write(tmp_path, data))
    with pytest.raises(LogError, match="cannot open"):
        ulog.read(tmp_path / "missing.ulg")
    with pytest.raises(LogError, match="cannot"):
        ulog.read(tmp_path)


def test_absurd_sizes(tmp_path: Path) -> None:
    w = Writer()
    w.flags()
    w.out += struct.pack("<HB", 60_000, ord("F")) + b"huge:float x;"  # longer than the file
    with pytest.raises(LogError, match="definitions section"):
        ulog.read(write(tmp_path, bytes(w.out)))

    w = Writer()
    w.fmt("battery_status", "uint64_t timestamp;float[99999999] voltage_v;")
    w.fmt("vehicle_status", "uint64_t timestamp;vehicle_status loop;uint8_t arming_state;")
    w.fmt("sensor_combined", "uint64_t timestamp;float[3] accelerometer_m_s2;")
    w.add(0, 1, "battery_status")
    w.add(0, 2, "vehicle_status")
    w.add(0, 3, "sensor_combined")
    w.data(1, "Qf", T0, 12.0)
    w.data(2, "QB", T0, 2)
    w.data(3, "Q3f", T0, 1.0, 2.0, 3.0)
    w.data(3, "Q3fI", T0 + 1, 1.0, 2.0, 3.0, 0)  # longer than its format: skipped
    data = ulog.read(write(tmp_path, bytes(w.out)))
    assert len(data.battery_v) == 0 and len(data.armed) == 0 and len(data.accel) == 1
    assert sum("unreadable" in w for w in data.warnings) == 2, data.warnings
    assert "1 data messages of the wrong size skipped" in data.warnings


def test_unknown_incompatible_flags(tmp_path: Path) -> None:
    w = Writer()
    w.flags(incompat=0b10)
    with pytest.raises(LogError, match="incompatible"):
        ulog.read(write(tmp_path, bytes(w.out)))


def test_corruption_skips_to_next_sync(tmp_path: Path) -> None:
    w = Writer()
    w.fmt("battery_status", "uint64_t timestamp;float voltage_v;float current_a;")
    w.add(0, 1, "battery_status")
    w.data(1, "Qff", T0, 12.0, 1.0)
    w.out += b"\x00\x00\x00\xff\xfe"  # garbage
    w.data(1, "Qff", T0 + 1, 12.0, 1.0)  # lost: before the sync
    w.sync()
    w.data(1, "Qff", T0 + 2, 11.0, 1.0)
    w.data(7, "Qff", T0 + 3, 11.0, 1.0)  # nobody subscribed to msg_id 7
    w.msg("X", b"future message type")
    w.out += struct.pack("<HB", 999, ord("D"))  # a damaged size, running past the end...
    w.data(1, "Qff", T0 + 4, 11.0, 1.0)
    w.sync()  # ...but a sync marker follows
    w.data(1, "Qff", T0 + 5, 10.0, 1.0)
    data = ulog.read(write(tmp_path, bytes(w.out)))
    assert np.array_equal(data.battery_v.t, [T0, T0 + 2, T0 + 5])
    assert any("skipped 29 bytes to the next sync marker" in w for w in data.warnings)
    assert any("skipped 27 bytes to the next sync marker" in w for w in data.warnings)
    assert "1 data messages for unknown msg_ids skipped" in data.warnings
    assert "1 messages of unknown type 'X' skipped" in data.warnings
    assert not any("truncated" in w for w in data.warnings)


def messages(data: bytes) -> list[tuple[int, str]]:
    """(offset, type) of the messages of a well-formed log."""
    out, p = [], 16
    while p + 3 <= len(data):
        out.append((p, chr(data[p + 2])))
        p += 3 + (data[p] | data[p + 1] << 8)
    return out


def test_truncated_synthetic(tmp_path: Path) -> None:
    full = synthetic()
    whole = ulog.read(write(tmp_path, full))
    kinds = messages(full)
    data_start = next(kinds[i + 1][0] for i, (_, kind) in enumerate(kinds) if kind == "A")
    with pytest.raises(LogError, match="definitions"):
        ulog.read(write(tmp_path, full[: data_start - 5]))
    for cut in range(data_start, len(full), 97):
        data = ulog.read(write(tmp_path, full[:cut]))
        for name in SERIES:
            if name == "speed" and data.speed_kind != whole.speed_kind:
                continue  # cut before the first airspeed sample: ground speed, rightly
            part, all_ = getattr(data, name), getattr(whole, name)
            assert same(part, Series(all_.t[: len(part)], all_.v[: len(part)])), (cut, name)


FUZZ_BASE = synthetic(n=12)  # every message type and appended data, in 4.4 kB


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    cut=st.integers(0, len(FUZZ_BASE)),
    flips=st.lists(st.tuples(st.integers(0, len(FUZZ_BASE) - 1), st.integers(0, 255)), max_size=8),
    insert=st.tuples(st.integers(0, len(FUZZ_BASE)), st.binary(max_size=40)),
    chunk_size=st.sampled_from([64, 256, 1 << 20]),
)
def test_fuzz(
    tmp_path: Path,
    cut: int,
    flips: list[tuple[int, int]],
    insert: tuple[int, bytes],
    chunk_size: int,
) -> None:
    data = bytearray(FUZZ_BASE)
    for at, value in flips:
        data[at] = value
    data[insert[0] : insert[0]] = insert[1]
    path = write(tmp_path, bytes(data[:cut]), "fuzz.ulg")
    # the reader itself, not read(): read() turns any slip into LogError, this must not slip
    with open(path, "rb", buffering=0) as f:
        reader = ulog._Reader(f, chunk_size)
        try:
            reader.run()
        except LogError:
            return
    assert isinstance(reader.result(), LogData)


# --- real logs, against pyulog ---------------------------------------------------------------


def _columns(data: dict[str, npt.NDArray[Any]], fields: tuple[str, ...]) -> list[Any] | None:
    """The columns for ``fields`` ("a|b": a, else b), None when one is missing."""
    found = []
    for alternatives in fields:
        name = next((n for n in alternatives.split("|") if n in data), None)
        if name is None:
            return None
        found.append(data[name])
    return found


def pyulog_reference(path: Path) -> dict[str, Any]:
    """The same series, computed from pyulog's full parse with the documented rules."""
    import pyulog

    log = pyulog.ULog(str(path))

    def topic(name: str) -> tuple[npt.NDArray[np.int64], dict[str, Any]] | None:
        try:
            raw = log.get_dataset(name, 0).data
        except (KeyError, IndexError, ValueError):
            return None
        t = raw["timestamp"].astype(np.int64)
        keep = t > 0
        assert np.all(np.diff(t[keep]) >= 0)
        return t[keep], {k: v[keep] for k, v in raw.items()}

    F = np.float64
    Make = Callable[[npt.NDArray[np.int64], list[Any]], tuple[Any, Any]]

    def celsius(t: Any, c: list[Any]) -> tuple[Any, Any]:
        v = c[0].astype(F)
        ok = (v >= -100) & (v <= 150)
        return t[ok], v[ok]

    def utc(t: Any, c: list[Any]) -> tuple[Any, Any]:
        ok = (c[1] >= 2) & (c[0].astype(np.int64) >= 1_262_304_000_000_000)
        return t[ok], (c[0][ok].astype(np.int64) - t[ok]).astype(F)

    rules: dict[str, list[tuple[str, tuple[str, ...], Make]]] = {
        "armed": [
            ("vehicle_status", ("arming_state",), lambda t, c: (t, (c[0] == 2) * 1.0)),
            ("actuator_armed", ("armed",), lambda t, c: (t, (c[0] != 0) * 1.0)),
        ],
        "landed": [("vehicle_land_detected", ("landed",), lambda t, c: (t, (c[0] != 0) * 1.0))],
        "altitude": [("vehicle_local_position", ("z",), lambda t, c: (t, -c[0].astype(F)))],
        "climb": [("vehicle_local_position", ("vz",), lambda t, c: (t, -c[0].astype(F)))],
        "airspeed": [
            (
                "airspeed_validated",
                ("calibrated_airspeed_m_s|equivalent_airspeed_m_s|indicated_airspeed_m_s",),
                lambda t, c: (t, c[0].astype(F)),
            ),
            ("airspeed", ("indicated_airspeed_m_s",), lambda t, c: (t, c[0].astype(F))),
        ],
        "groundspeed": [
            (
                "vehicle_local_position",
                ("vx", "vy"),
                lambda t, c: (t, np.hypot(c[0].astype(F), c[1].astype(F))),
            )
        ],
        "accel": [
            (
                "sensor_combined",
                tuple(f"accelerometer_m_s2[{i}]" for i in range(3)),
                lambda t, c: (t, np.column_stack([x.astype(F) for x in c])),
            ),
            (
                "sensor_accel",
                ("x", "y", "z"),
                lambda t, c: (t, np.column_stack([x.astype(F) for x in c])),
            ),
        ],
        "temperature": [
            ("airspeed", ("air_temperature_celsius",), celsius),
            ("differential_pressure", ("temperature",), celsius),
            (
                "vehicle_air_data",
                ("ambient_temperature", "temperature_source"),
                lambda t, c: celsius(t[c[1] != 0], [c[0][c[1] != 0]]),
            ),
            ("vehicle_air_data", ("baro_temp_celcius|baro_temp_celsius",), celsius),
            ("sensor_combined", ("baro_temp_celcius|baro_temp_celsius",), celsius),
            ("sensor_baro", ("temperature",), celsius),
        ],
        "battery_v": [("battery_status", ("voltage_v",), lambda t, c: (t, c[0].astype(F)))],
        "battery_a": [("battery_status", ("current_a",), lambda t, c: (t, c[0].astype(F)))],
        "utc": [
            ("vehicle_gps_position", ("time_utc_usec", "fix_type"), utc),
            ("sensor_gps", ("time_utc_usec", "fix_type"), utc),
        ],
    }
    out: dict[str, Any] = {}
    for key, sources in rules.items():
        for name, fields, make in sources:
            found = topic(name)
            if found is None:
                continue
            columns = _columns(found[1], fields)
            if columns is None:
                continue
            t, v = make(found[0], columns)
            if len(t) and np.isfinite(v).any():
                out[key] = Series(t, v)
                break
    stamps = np.concatenate([d.data["timestamp"] for d in log.data_list]).astype(np.int64)
    out["first_t"] = int(log.start_timestamp) or int(stamps[stamps > 0].min())
    out["last_t"] = int(log.last_timestamp)
    out["sys_uuid"] = log.msg_info_dict.get("sys_uuid")
    out["hw"] = f"{log.msg_info_dict.get('ver_hw')} {log.msg_info_dict.get('sys_name')}"
    return out


@pytest.mark.shared_data
@pytest.mark.parametrize("name", REAL_LOGS)
def test_real_log_matches_pyulog(name: str) -> None:
    path = shared_log(name)
    data = ulog.read(path)
    ref = pyulog_reference(path)
    for key in SERIES:
        expected = ref.get("airspeed", ref.get("groundspeed")) if key == "speed" else ref.get(key)
        assert expected is not None, key
        assert same(getattr(data, key), expected), key
    assert data.speed_kind == ("air" if "airspeed" in ref else "ground")
    magnitude = np.sqrt((data.accel.v**2).sum(axis=1)).max()
    assert magnitude == np.sqrt((ref["accel"].v ** 2).sum(axis=1)).max()
    assert (data.first_t, data.last_t) == (ref["first_t"], ref["last_t"])
    utc = ref.get("utc")
    assert data.start_us == (int(utc.v[0]) if utc is not None else None)
    assert data.vehicle_id == (ref["sys_uuid"] or ref["hw"])
    assert data.warnings == []
    assert data.size == path.stat().st_size


@pytest.mark.shared_data
def test_real_logs_known_facts() -> None:
    """What SOURCES.md says of the two logs, in seconds after the log header's timestamp."""
    reader = ulog._run(shared_log("test.ulg"))
    data, t0 = reader.result(), reader.header_timestamp
    changes = np.flatnonzero(np.diff(data.landed.v)) + 1
    hops = np.round((data.landed.t[changes] - t0) / 1e6, 2)
    assert hops.tolist() == [1.83, 3.53, 5.08, 6.06]
    magnitude = np.sqrt((data.accel.v**2).sum(axis=1))
    assert magnitude.max() == pytest.approx(108.5, abs=0.1)
    assert (data.accel.t[magnitude.argmax()] - t0) / 1e6 == pytest.approx(2.47, abs=0.01)
    assert data.vehicle_id == "000200000000353338373138511600380018"
    assert data.start_us == 1_698_738_160_600_088 - 3_237_874
    assert len(reader.parameters()) == 867

    reader = ulog._run(shared_log("14_19_29.ulg"))
    data, t0 = reader.result(), reader.header_timestamp
    changes = np.flatnonzero(np.diff(data.landed.v)) + 1
    assert np.round((data.landed.t[changes] - t0) / 1e6, 1).tolist() == [44.9, 53.6]
    assert data.start_us is None  # SITL: no GPS time
    assert data.vehicle_id == "SITL PX4"


@pytest.mark.shared_data
@pytest.mark.parametrize(
    ("chunk_size", "window"), [(1 << 16, 1 << 20), (100_000, 1 << 20), (1 << 24, 50_000)]
)
def test_real_log_in_small_chunks(
    monkeypatch: pytest.MonkeyPatch, chunk_size: int, window: int
) -> None:
    path = shared_log("14_19_29.ulg")
    whole = ulog.read(path)
    monkeypatch.setattr(ulog, "_WINDOW", window)
    chunked = ulog.read(path, chunk_size=chunk_size)
    for name in SERIES:
        assert same(getattr(whole, name), getattr(chunked, name)), name
    assert (whole.first_t, whole.last_t) == (chunked.first_t, chunked.last_t)


@pytest.mark.shared_data
def test_truncated_real_log(tmp_path: Path) -> None:
    full_path = shared_log("test.ulg")
    full = full_path.read_bytes()
    whole = ulog.read(full_path)
    for fraction in (0.3, 0.5, 0.77, 0.999):
        cut = int(len(full) * fraction)
        data = ulog.read(write(tmp_path, full[:cut]))
        assert any(w.startswith("file truncated") for w in data.warnings), (cut, data.warnings)
        assert data.size == cut and data.last_t <= whole.last_t
        for name in SERIES:
            part, all_ = getattr(data, name), getattr(whole, name)
            assert 0 < len(part) <= len(all_), (cut, name)
            assert same(part, Series(all_.t[: len(part)], all_.v[: len(part)])), (cut, name)
    with pytest.raises(LogError, match="definitions"):
        ulog.read(write(tmp_path, full[:5000]))
