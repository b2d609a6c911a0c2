"""DataFlash reader: against pymavlink on real logs, on synthetic logs, damaged copies, fuzz."""

from __future__ import annotations

import os
import struct
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kanat.flightlogs import dataflash
from kanat.flightlogs.base import LogData, LogError

from .conftest import SERIES, check_series, shared_log

BIN = "test_log_pilot_position.BIN"
NAN = "nan.log"
OLD = "robert_lefebvre_octo_PM.log"


def _pymavlink(path: Path, types: list[str]) -> dict[str, list[object]]:
    from pymavlink import mavutil

    conn = mavutil.mavlink_connection(str(path))
    out: dict[str, list[object]] = {t: [] for t in types}
    while (m := conn.recv_match(type=types)) is not None:
        out[m.get_type()].append(m)
    return out


def _same(a: LogData, b: LogData) -> None:
    for name in SERIES:
        sa, sb = getattr(a, name), getattr(b, name)
        np.testing.assert_array_equal(sa.t, sb.t, err_msg=name)
        np.testing.assert_array_equal(sa.v, sb.v, err_msg=name)
    assert (a.start_us, a.first_t, a.last_t, a.vehicle_id, a.speed_kind) == (
        b.start_us,
        b.first_t,
        b.last_t,
        b.vehicle_id,
        b.speed_kind,
    )


# --- real logs against pymavlink ---------------------------------------------------------------


@pytest.mark.shared_data
def test_bin_matches_pymavlink() -> None:
    path = shared_log(BIN)
    d = dataflash.read(path)
    assert d.format == "dataflash-bin" and d.size == path.stat().st_size
    for name in SERIES:
        check_series(getattr(d, name))
    ref = _pymavlink(path, ["IMU", "BARO", "GPS", "STAT", "ARSP", "MSG", "PARM"])

    imu = ref["IMU"]
    np.testing.assert_array_equal(d.accel.t, [m.TimeUS for m in imu])
    acc = np.array([[m.AccX, m.AccY, m.AccZ] for m in imu])
    np.testing.assert_allclose(d.accel.v, acc)
    peak = np.linalg.norm(acc, axis=1).max()
    assert np.linalg.norm(d.accel.v, axis=1).max() == pytest.approx(peak)

    baro = [m for m in ref["BARO"] if m.Health]
    np.testing.assert_array_equal(d.altitude.t, [m.TimeUS for m in baro])
    np.testing.assert_allclose(d.altitude.v, [m.Alt for m in baro])
    np.testing.assert_allclose(d.climb.v, [m.CRt for m in baro])
    # the airspeed sensor is configured but never healthy: BARO temperature, GPS speed
    assert not any(m.Health for m in ref["ARSP"])
    np.testing.assert_allclose(d.temperature.v, [m.Temp for m in baro])
    gps = [m for m in ref["GPS"] if m.Status >= 3]
    assert d.speed_kind == "ground"
    np.testing.assert_array_equal(d.speed.t, [m.TimeUS for m in gps])
    np.testing.assert_allclose(d.speed.v, [m.Spd for m in gps])

    # ArduPlane: STAT says never armed, never flying (SOURCES.md: 0 flights)
    stat = ref["STAT"]
    np.testing.assert_array_equal(d.armed.t, [m.TimeUS for m in stat])
    assert not d.armed.v.any() and d.landed.v.all()
    assert len(d.battery_v) == 0 and len(d.battery_a) == 0  # BATT_MONITOR 0

    first = imu[0]
    pm_start = (first._timestamp - first.TimeUS * 1e-6) * 1e6  # 2021: 18 leap s as pymavlink
    assert d.start_us is not None and abs(d.start_us - pm_start) < 50_000
    assert d.vehicle_id == "PH4-mini 0043002B 34385109 39303535"
    assert any(m.Message == "PH4-mini 0043002B 34385109 39303535" for m in ref["MSG"])
    assert d.first_t <= min(m.TimeUS for m in ref["MSG"])
    assert d.last_t >= imu[-1].TimeUS
    assert d.last_t - d.first_t == pytest.approx(55e6, rel=0.02)


@pytest.mark.shared_data
def test_text_nan_log_matches_pymavlink() -> None:
    path = shared_log(NAN)
    d = dataflash.read(path)
    assert d.format == "dataflash-text"
    for name in SERIES:
        check_series(getattr(d, name))
    ref = _pymavlink(path, ["IMU", "CTUN", "GPS", "CURR", "EV"])

    imu = ref["IMU"]
    np.testing.assert_array_equal(d.accel.t, [m.TimeMS * 1000 for m in imu])
    acc = np.array([[m.AccX, m.AccY, m.AccZ] for m in imu])
    np.testing.assert_allclose(d.accel.v, acc)
    assert np.linalg.norm(d.accel.v, axis=1).max() == pytest.approx(
        np.linalg.norm(acc, axis=1).max()
    )
    ctun = ref["CTUN"]
    np.testing.assert_array_equal(d.altitude.t, [m.TimeMS * 1000 for m in ctun])
    np.testing.assert_allclose(d.altitude.v, [m.BarAlt for m in ctun])
    np.testing.assert_allclose(d.climb.v, [m.CRt / 100 for m in ctun])  # cm/s in 3.1
    gps = [m for m in ref["GPS"] if m.Status >= 3]
    np.testing.assert_array_equal(d.speed.t, [m.T * 1000 for m in gps])
    np.testing.assert_allclose(d.speed.v, [m.Spd for m in gps])
    curr = ref["CURR"]
    np.testing.assert_array_equal(d.battery_v.t, [m.TimeMS * 1000 for m in curr])
    np.testing.assert_allclose(d.battery_v.v, [m.Volt / 100 for m in curr])
    np.testing.assert_allclose(d.battery_a.v, [m.Curr / 100 for m in curr])

    # EV has no time in 3.1: the preceding record's, as pymavlink
    base = imu[0]._timestamp - imu[0].TimeMS / 1000
    ev = [(m.Id, round((m._timestamp - base) * 1e6)) for m in ref["EV"]]
    arm = [(t, 1.0 if i == 10 else 0.0) for i, t in ev if i in (10, 11)]
    np.testing.assert_allclose(d.armed.t, [t for t, _ in arm], atol=1000)
    np.testing.assert_array_equal(d.armed.v, [v for _, v in arm])  # two arm cycles
    assert list(d.armed.v) == [1.0, 0.0, 1.0, 0.0]
    # take-off attempt (EV 28) 23.2 s in, never landed again before the crash disarm
    np.testing.assert_array_equal(d.landed.v, [0.0])
    assert (d.landed.t[0] - d.first_t) / 1e6 == pytest.approx(23.2, abs=0.1)
    assert (d.last_t - d.first_t) / 1e6 == pytest.approx(29.4, abs=0.1)

    # 2014: GPS-UTC was 16 s (pymavlink always takes 18); pymavlink uses the first fix, we
    # the median, and this log's GPS clock runs 2 s fast over its 30 s
    assert d.start_us is not None
    assert abs(d.start_us - (base * 1e6 + 2e6)) < 2.5e6
    assert d.vehicle_id == "PX4v2 26002600 0A473234 33353231"
    assert not len(d.temperature)
    assert d.warnings == []


@pytest.mark.shared_data
def test_old_format_text_log() -> None:
    """ArduCopter 3.0.1: no boot clock, GPS time of week only (pymavlink crashes on it)."""
    path = shared_log(OLD)
    d = dataflash.read(path)
    assert d.format == "dataflash-text"
    for name in SERIES:
        check_series(getattr(d, name))
    lines = path.read_text().splitlines()
    gps = [ln.split(",") for ln in lines if ln.startswith("GPS,")]
    tow = np.array([int(g[2]) for g in gps]) * 1000
    assert len(gps) == 777

    # GPS records keep their own time (time of week), 155 s of them
    assert d.speed_kind == "ground"
    np.testing.assert_array_equal(d.speed.t, tow)
    np.testing.assert_allclose(d.speed.v, [float(g[9]) for g in gps])
    assert (tow[-1] - tow[0]) / 1e6 == pytest.approx(155.4, abs=0.1)
    assert d.start_us is None  # no GPS week in this version
    assert d.first_t < tow[0] and d.last_t >= tow[-1]
    assert any("no boot clock" in w for w in d.warnings)

    # armed and taken off before the first GPS fix, no landing in the log
    np.testing.assert_array_equal(d.armed.v, [1.0])
    assert 5e6 < tow[0] - d.armed.t[0] < 30e6
    np.testing.assert_array_equal(d.landed.v, [0.0])  # EV 16: take-off
    assert d.armed.t[0] < d.landed.t[0] < tow[0]

    # baro altitude (CTUN BarAlt): mostly 0-22 m with a 210 m glitch
    ctun = [ln.split(",") for ln in lines if ln.startswith("CTUN,")]
    np.testing.assert_allclose(d.altitude.v, [float(c[3]) for c in ctun])
    assert d.altitude.v.max() == pytest.approx(210.34)
    p1, p50, p90, p95 = np.percentile(d.altitude.v, [1, 50, 90, 95])
    assert -3 < p1 < 0 and 5 < p50 < 20 and 15 < p90 < p95 < 23
    assert (d.altitude.v > 23).mean() < 0.05
    np.testing.assert_allclose(d.climb.v, [int(c[7]) / 100 for c in ctun])  # cm/s
    # CTUN samples spread over the whole log, between GPS fixes by count
    assert d.altitude.t[0] < tow[0] and d.altitude.t[-1] >= tow[-1]
    assert np.diff(d.altitude.t).max() < 2e6
    curr = [ln.split(",") for ln in lines if ln.startswith("CURR,")]
    np.testing.assert_allclose(d.battery_v.v, [int(c[3]) / 100 for c in curr])
    assert d.battery_v.v.min() > 13 and d.battery_v.v.max() < 15.2
    assert not len(d.accel) and d.accel.v.shape == (0, 3)
    assert d.vehicle_id == "mavlink-sysid-1"


@pytest.mark.shared_data
@pytest.mark.parametrize("name", [BIN, NAN, OLD])
def test_small_chunks_same_result(name: str) -> None:
    path = shared_log(name)
    _same(dataflash.read(path), dataflash.read(path, chunk_size=4099))


@pytest.mark.shared_data
@pytest.mark.parametrize("cut", [0.5, 0.93])
def test_truncated_bin(tmp_path: Path, cut: float) -> None:
    path = shared_log(BIN)
    raw = path.read_bytes()
    full = dataflash.read(path)
    part = tmp_path / "cut.bin"
    part.write_bytes(raw[: int(len(raw) * cut) + 7])
    d = dataflash.read(part)
    assert any("at the end" in w for w in d.warnings)
    n = len(d.accel)
    assert 0 < n < len(full.accel)
    np.testing.assert_array_equal(d.accel.t, full.accel.t[:n])
    np.testing.assert_array_equal(d.accel.v, full.accel.v[:n])


@pytest.mark.shared_data
def test_corrupted_bin(tmp_path: Path) -> None:
    path = shared_log(BIN)
    raw = bytearray(path.read_bytes())
    full = dataflash.read(path)
    rng = np.random.default_rng(1)
    for at in (300_000, 900_000, 1_500_000):
        raw[at : at + 700] = rng.integers(0, 256, 700, dtype=np.uint8).tobytes()
    raw[1_200_000:1_200_000] = b"\xa3\x95\x85garbage"  # inserted bytes
    bad = tmp_path / "bad.bin"
    bad.write_bytes(bytes(raw))
    d = dataflash.read(bad)
    assert any("bytes skipped" in w for w in d.warnings)
    assert len(full.accel) * 0.97 < len(d.accel) <= len(full.accel)
    assert np.isin(d.accel.t, full.accel.t).mean() > 0.999
    for name in SERIES:
        check_series(getattr(d, name))


@pytest.mark.shared_data
def test_truncated_and_corrupted_text(tmp_path: Path) -> None:
    path = shared_log(NAN)
    raw = path.read_bytes()
    full = dataflash.read(path)
    cut = tmp_path / "cut.log"
    cut.write_bytes(raw[: len(raw) // 2 + 5])  # ends in the middle of a line
    d = dataflash.read(cut)
    n = len(d.accel)
    assert 0 < n < len(full.accel)
    np.testing.assert_array_equal(d.accel.t, full.accel.t[:n])

    bad = bytearray(raw)
    mid = len(bad) // 3
    bad[mid : mid + 40] = b"\x00\xff garbage, 1, 2\nIMU, x, y\nIMU, 1, 2\n" + b"\x01" * 6
    path2 = tmp_path / "bad.log"
    path2.write_bytes(bytes(bad))
    d2 = dataflash.read(path2)
    assert d2.warnings
    assert len(full.accel) - 3 <= len(d2.accel) <= len(full.accel)
    for name in SERIES:
        check_series(getattr(d2, name))


# --- synthetic logs ------------------------------------------------------------------------------

_STRUCT = {
    "b": "b",
    "B": "B",
    "h": "h",
    "H": "H",
    "i": "i",
    "I": "I",
    "f": "f",
    "d": "d",
    "n": "4s",
    "N": "16s",
    "Z": "64s",
    "c": "h",
    "C": "H",
    "e": "i",
    "E": "I",
    "L": "i",
    "M": "B",
    "q": "q",
    "Q": "Q",
}


def _sfmt(fmt: str) -> str:
    return "<" + "".join(_STRUCT[c] for c in fmt)


def fmt_record(type_: int, name: str, fmt: str, cols: str) -> bytes:
    length = 3 + struct.calcsize(_sfmt(fmt))
    return struct.pack(
        "<BBBBB4s16s64s",
        0xA3,
        0x95,
        0x80,
        type_,
        length,
        name.encode(),
        fmt.encode(),
        cols.encode(),
    )


def record(type_: int, fmt: str, *values: object) -> bytes:
    return bytes((0xA3, 0x95, type_)) + struct.pack(_sfmt(fmt), *values)


FORMATS = {
    "FMT": (0x80, "BBnNZ", "Type,Length,Name,Format,Columns"),
    "IMU": (1, "QBfff", "TimeUS,I,AccX,AccY,AccZ"),
    "EV": (2, "QB", "TimeUS,Id"),
    "BARO": (3, "QffcB", "TimeUS,Alt,CRt,Temp,Health"),
    "GPS": (4, "QBIHf", "TimeUS,Status,GMS,GWk,Spd"),
    "MSG": (5, "QZ", "TimeUS,Message"),
    "PARM": (6, "QNf", "TimeUS,Name,Value"),
    "BAT": (7, "QBff", "TimeUS,Inst,Volt,Curr"),
    "CTUN": (8, "Qfh", "TimeUS,BAlt,CRt"),
    "FMTU": (9, "QBNN", "TimeUS,FmtType,UnitIds,MultIds"),
    "MULT": (10, "Qbd", "TimeUS,Id,Mult"),
}


def synthetic_bin(n: int = 50) -> tuple[bytes, dict[str, np.ndarray]]:
    """A small modern-style binary log and what it holds."""
    out = [fmt_record(t, name, f, c) for name, (t, f, c) in FORMATS.items()]

    def rec(name: str, *values: object) -> bytes:
        t, f, _ = FORMATS[name]
        return record(t, f, *values)

    out.append(rec("MSG", 1000, b"ArduCopter V4.5.0 (abcdef12)"))
    out.append(rec("MSG", 1100, b"CubeOrange 00260021 3030510E 35353836"))
    out.append(rec("PARM", 1200, b"SYSID_THISMAV", 7.0))
    out.append(rec("FMTU", 1300, 8, b"s-n", b"F-B"))
    out.append(rec("MULT", 1301, ord("B"), 0.01))
    out.append(rec("EV", 1400, 10))
    t = 10_000 + np.arange(n, dtype=np.int64) * 20_000
    acc = np.column_stack([np.sin(t / 1e6), np.cos(t / 1e6), -9.8 + t / 1e9]).astype(np.float32)
    for i in range(n):
        out.append(rec("IMU", int(t[i]), 0, *acc[i].tolist()))
        out.append(rec("IMU", int(t[i]) + 5, 1, 99.0, 99.0, 99.0))  # second IMU: ignored
        if i % 5 == 0:
            out.append(rec("BARO", int(t[i]), i * 0.5, 1.25, 2150, 1))
            out.append(rec("GPS", int(t[i]), 3, 313_322_400 + i * 20, 2175, 4.5))
            out.append(rec("BAT", int(t[i]), 0, 15.5, 3.25))
            out.append(rec("CTUN", int(t[i]), i * 0.5, 125))
    out.append(rec("EV", int(t[-1]) + 1, 18))
    out.append(rec("EV", int(t[-1]) + 2, 11))
    return b"".join(out), {"t": t, "acc": acc.astype(np.float64)}


def test_synthetic_bin_roundtrip(tmp_path: Path) -> None:
    raw, truth = synthetic_bin()
    path = tmp_path / "s.bin"
    path.write_bytes(raw)
    d = dataflash.read(path)
    assert d.format == "dataflash-bin" and d.warnings == [] and d.size == len(raw)
    np.testing.assert_array_equal(d.accel.t, truth["t"])
    np.testing.assert_array_equal(d.accel.v, truth["acc"])
    np.testing.assert_array_equal(d.armed.t, [1400, truth["t"][-1] + 2])
    np.testing.assert_array_equal(d.armed.v, [1.0, 0.0])
    np.testing.assert_array_equal(d.landed.v, [1.0])
    np.testing.assert_allclose(d.altitude.v, np.arange(10) * 2.5, atol=1e-6)
    np.testing.assert_allclose(d.temperature.v, 21.5)  # c: centi-degrees
    np.testing.assert_allclose(d.climb.v, 1.25)
    np.testing.assert_allclose(d.battery_v.v, 15.5)
    np.testing.assert_allclose(d.battery_a.v, 3.25)
    assert d.speed_kind == "ground"
    np.testing.assert_allclose(d.speed.v, 4.5)
    # GPS week 2175, 313322.4 s: 2021-09-15 15:01:44.4 UTC (GPS-UTC 18 s)
    assert d.start_us == 1_631_718_104_400_000 - 10_000
    assert d.vehicle_id == "CubeOrange 00260021 3030510E 35353836"
    assert (d.first_t, d.last_t) == (1000, truth["t"][-1] + 5)  # the second IMU


def test_healthy_airspeed_sensor(tmp_path: Path) -> None:
    raw, _ = synthetic_bin(10)
    arsp = fmt_record(11, "ARSP", "QffcB", "TimeUS,Airspeed,DiffPress,Temp,Health")
    recs = [record(11, "QffcB", 200_000 + i, 14.0 + i, 90.0, 1250, i % 2) for i in range(6)]
    path = tmp_path / "a.bin"
    path.write_bytes(raw + arsp + b"".join(recs))
    d = dataflash.read(path)
    assert d.speed_kind == "air"
    np.testing.assert_allclose(d.speed.v, [15.0, 17.0, 19.0])  # healthy ones only
    np.testing.assert_allclose(d.temperature.v, 12.5)  # outside air, not the baro's 21.5


def test_binary_without_boot_clock(tmp_path: Path) -> None:
    """ArduCopter 3.0-style binary: only GPS has a time (of week); CTUN and EV none."""
    out = [
        fmt_record(0x80, "FMT", "BBnNZ", "Type,Length,Name,Format,Columns"),
        fmt_record(130, "GPS", "BIBcLLeeEe", "Status,Time,NSats,HDop,Lat,Lng,RelAlt,Alt,Spd,GCrs"),
        fmt_record(
            4, "CTUN", "hcefhhhhh", "ThrIn,SonAlt,BarAlt,WPAlt,NavThr,AngBst,CRate,ThrOut,DCRate"
        ),
        fmt_record(13, "EV", "B", "Id"),
        record(13, "B", 10),
    ]
    ctun = [record(4, "hcefhhhhh", 0, 0, 100 * i, 0.0, 0, 0, 50, 0, 0) for i in range(40)]
    for i, c in enumerate(ctun):  # CTUN at 10 Hz, GPS at 5 Hz from the 10th CTUN on
        out.append(c)
        if i >= 10 and i % 2 == 0:
            out.append(
                record(130, "BIBcLLeeEe", 3, 500_000_000 + 100 * i, 8, 200, 0, 0, 0, 0, 75, 0)
            )
    path = tmp_path / "old.bin"
    path.write_bytes(b"".join(out))
    d = dataflash.read(path)
    assert d.start_us is None and any("no boot clock" in w for w in d.warnings)
    np.testing.assert_array_equal(d.speed.t, 500_000_000_000 + 100_000 * np.arange(10, 40, 2))
    np.testing.assert_allclose(d.speed.v, 0.75)
    # CTUN placed by count between and before the GPS records: 100 ms apart
    np.testing.assert_allclose(np.diff(d.altitude.t), 100_000, atol=1)
    np.testing.assert_allclose(d.altitude.v, np.arange(40.0))
    np.testing.assert_allclose(d.climb.v, 0.5)
    assert d.armed.t[0] < d.altitude.t[0] == d.speed.t[0] - 1_000_000


def test_fmtu_multiplier_and_legacy_centi(tmp_path: Path) -> None:
    """CTUN CRt is an integer: FMTU says ×0.01 here; without BARO it is the climb."""
    raw, _ = synthetic_bin()
    baro_type = FORMATS["BARO"][0]
    # drop every BARO record: climb and altitude then come from CTUN
    fmt_len = 3 + struct.calcsize(_sfmt(FORMATS["BARO"][1]))
    head = bytes((0xA3, 0x95, baro_type))
    cut = raw
    while (i := cut.find(head)) >= 0:
        cut = cut[:i] + cut[i + fmt_len :]
    path = tmp_path / "s.bin"
    path.write_bytes(cut)
    d = dataflash.read(path)
    np.testing.assert_allclose(d.climb.v, 1.25)
    np.testing.assert_allclose(d.altitude.v, np.arange(10) * 2.5, atol=1e-6)
    assert not len(d.temperature)


def test_format_redefinition(tmp_path: Path) -> None:
    raw, truth = synthetic_bin(10)
    t_imu = FORMATS["IMU"][0]
    redefined = fmt_record(t_imu, "IMU", "QfffB", "TimeUS,AccX,AccY,AccZ,I")
    later = [record(t_imu, "QfffB", 10_000_000 + i, 1.0, 2.0, 3.0, 0) for i in range(5)]
    path = tmp_path / "r.bin"
    path.write_bytes(raw + redefined + b"".join(later))
    d = dataflash.read(path)
    assert len(d.accel) == 15
    np.testing.assert_array_equal(d.accel.v[:10], truth["acc"])
    np.testing.assert_array_equal(d.accel.v[10:], [[1.0, 2.0, 3.0]] * 5)
    assert d.warnings == []


def test_gps_to_utc() -> None:
    # pymavlink's fixed 18 s agrees after 2017; 2014 had 16
    assert dataflash.gps_to_utc_us(2175, 313_322_400) == 1_631_718_104_400_000
    assert dataflash.gps_to_utc_us(1777, 56_674_000) == 1_390_751_058_000_000


def synthetic_text(nan: bool = False) -> str:
    lines = [
        "ArduCopter V3.1.1 (681dafcf)",
        "",
        "FMT, 128, 89, FMT, BBnNZ, Type,Length,Name,Format",
        "FMT, 129, 23, PARM, Nf, Name,Value",
        "FMT, 130, 45, GPS, BIHBcLLeeEefI, Status,TimeMS,Week,NSats,HDop,Lat,Lng,RelAlt,"
        "Alt,Spd,GCrs,VZ,T",
        "FMT, 131, 31, IMU, Iffffff, TimeMS,GyrX,GyrY,GyrZ,AccX,AccY,AccZ",
        "FMT, 132, 67, MSG, Z, Message",
        "FMT, 9, 23, CURR, IhIhhhf, TimeMS,ThrOut,ThrInt,Volt,Curr,Vcc,CurrTot",
        "FMT, 4, 33, CTUN, Ihhhffecchh, TimeMS,ThrIn,AngBst,ThrOut,DAlt,Alt,BarAlt,DSAlt,"
        "SAlt,DCRt,CRt",
        "FMT, 3, 6, MODE, Mh, Mode,ThrCrs",
        "FMT, 13, 4, EV, B, Id",
        "PARM, SYSID_THISMAV, 3",
        "MSG, ArduCopter V3.1.1 (681dafcf)",
        "MSG, PX4: bf42b124 NuttX: a6686464",
        "MODE, Stabilize, 424",
        "EV, 10",
    ]
    for i in range(40):
        t = 1000 + 20 * i
        acc = "NaN" if nan and i == 7 else f"{0.01 * i:.4f}"
        lines.append(f"IMU, {t}, 0.1, 0.2, 0.3, {acc}, 0.5, -9.8")
        if i % 10 == 0:
            lines.append(f"CTUN, {t}, 0, 0, 0, 0, 1.5, {i / 10:.2f}, 0.00, 0.00, 0, {-25 * i}")
            lines.append(
                f"GPS, 3, {56674000 + 20 * i}, 1777, 12, 1.32, 14.1, 100.6, -0.06, -2.50, "
                f"2.48, 287.33, -1.2, {t}"
            )
            lines.append(f"CURR, {t}, 0, 0, 1532, 53, 5302, 11.98")
    lines.append("EV, 28")
    lines.append("EV, 11")
    return "\n".join(lines) + "\n"


def test_synthetic_text(tmp_path: Path) -> None:
    path = tmp_path / "s.log"
    path.write_text(synthetic_text(nan=True).replace("\n", "\r\n"))
    d = dataflash.read(path)
    assert d.format == "dataflash-text"
    assert len(d.accel) == 40 and np.isnan(d.accel.v[7, 0])
    np.testing.assert_allclose(d.accel.v[8], [0.08, 0.5, -9.8])
    np.testing.assert_array_equal(d.accel.t, 1_000_000 + np.arange(40) * 20_000)
    np.testing.assert_array_equal(d.armed.v, [1.0, 0.0])
    np.testing.assert_array_equal(d.armed.t, [1_000_000, 1_780_000])  # EV: preceding time
    np.testing.assert_array_equal(d.landed.v, [0.0])
    np.testing.assert_allclose(d.altitude.v, [0, 1, 2, 3])
    np.testing.assert_allclose(d.climb.v, [0, -2.5, -5, -7.5])
    np.testing.assert_allclose(d.battery_v.v, 15.32)
    np.testing.assert_allclose(d.battery_a.v, 0.53)
    assert d.vehicle_id == "mavlink-sysid-3"
    assert d.start_us == dataflash.gps_to_utc_us(1777, 56674000) - 1_000_000
    assert d.warnings == []


def test_text_bad_lines_counted(tmp_path: Path) -> None:
    text = (
        synthetic_text()
        .replace("IMU, 1060,", "IMU, 1060, oops,")
        .replace("CTUN, 1200, 0", "CTUN, 1200")
    )
    path = tmp_path / "b.log"
    path.write_text(text + "IMU, 5000, 1, 2")  # short last line, no newline
    d = dataflash.read(path)
    assert len(d.accel) == 39
    assert len(d.altitude) == 3
    assert any("3 line(s)" in w for w in d.warnings)


def test_sniffers() -> None:
    raw, _ = synthetic_bin(2)
    assert dataflash.sniff_bin(raw[:100]) and not dataflash.sniff_text(raw[:100])
    text = synthetic_text().encode()
    assert dataflash.sniff_text(text[:300]) and not dataflash.sniff_bin(text[:300])
    assert not dataflash.sniff_bin(b"ULog\x01\x12\x35") and not dataflash.sniff_text(b"a,b\n")


@pytest.mark.parametrize(
    "content", [b"", b"hello world\n", b"ULog\x01\x12\x35\x01" + bytes(100), bytes(5000)]
)
def test_not_dataflash(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "x.bin"
    path.write_bytes(content)
    with pytest.raises(LogError):
        dataflash.read(path)


def test_unreadable_paths(tmp_path: Path) -> None:
    with pytest.raises(LogError):
        dataflash.read(tmp_path / "missing.bin")
    with pytest.raises(LogError):
        dataflash.read(tmp_path)


def test_only_garbage_after_header(tmp_path: Path) -> None:
    path = tmp_path / "g.bin"
    path.write_bytes(b"\xa3\x95" + os.urandom(3000))
    try:
        d = dataflash.read(path)
    except LogError:
        return
    assert d.warnings


# --- fuzz --------------------------------------------------------------------------------------

_BIN, _ = synthetic_bin(12)
_TEXT = synthetic_text(nan=True).encode()

_edits = st.lists(
    st.tuples(
        st.floats(0, 1, allow_nan=False),
        st.sampled_from(["overwrite", "insert", "delete"]),
        st.binary(min_size=1, max_size=12),
    ),
    max_size=6,
)


def _mutate(raw: bytes, edits: list[tuple[float, str, bytes]], cut: float) -> bytes:
    b = bytearray(raw)
    for where, kind, blob in edits:
        i = int(where * len(b))
        if kind == "overwrite":
            b[i : i + len(blob)] = blob
        elif kind == "insert":
            b[i:i] = blob
        else:
            del b[i : i + len(blob)]
    return bytes(b[: max(1, int(len(b) * cut))])


def _read_bytes(raw: bytes, chunk: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "f"
        path.write_bytes(raw)
        try:
            d = dataflash.read(path, chunk_size=chunk)
        except LogError as e:
            assert "unreadable DataFlash log (" not in str(e), "an internal error"
            return
        assert isinstance(d, LogData)
        for name in SERIES:
            check_series(getattr(d, name))


_fuzz = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_fuzz
@given(edits=_edits, cut=st.floats(0.05, 1.0), chunk=st.sampled_from([1024, 1500, 1 << 20]))
def test_fuzz_binary(edits: list[tuple[float, str, bytes]], cut: float, chunk: int) -> None:
    _read_bytes(_mutate(_BIN, edits, cut), chunk)


@_fuzz
@given(edits=_edits, cut=st.floats(0.05, 1.0), chunk=st.sampled_from([1024, 1500, 1 << 20]))
def test_fuzz_text(edits: list[tuple[float, str, bytes]], cut: float, chunk: int) -> None:
    _read_bytes(_mutate(_TEXT, edits, cut), chunk)


@_fuzz
@given(blob=st.binary(max_size=3000), prefix=st.sampled_from([b"", b"\xa3\x95\x80", b"FMT, "]))
def test_fuzz_random_bytes(blob: bytes, prefix: bytes) -> None:
    _read_bytes(prefix + blob, 1024)
