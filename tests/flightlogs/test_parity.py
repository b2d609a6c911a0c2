"""Flights, airborne time and max acceleration of every shared log: our readers against
the reference parsers (pyulog, pymavlink) through the same flight rule. The series-level
comparisons are in test_ulog / test_dataflash / test_tlog; this checks what a user sees."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import kanat.flightlogs as fl
from kanat.flightlogs.base import LogData, Series
from kanat.flightlogs.findings import magnitude
from kanat.flightlogs.flights import extract
from tests.flightlogs.conftest import shared_log
from tests.flightlogs.test_ulog import pyulog_reference

pytestmark = pytest.mark.shared_data


def series(t: list[float] | np.ndarray, v: list[float] | np.ndarray) -> Series:
    return Series(np.asarray(t, dtype=np.int64), np.asarray(v, dtype=np.float64))


def agree(ours: LogData, ref: LogData) -> None:
    a, b = extract(ours), extract(ref)
    assert len(a.flights) == len(b.flights)
    for x, y in zip(a.flights, b.flights, strict=True):
        assert x.airborne_us == pytest.approx(y.airborne_us, rel=0.01)
        assert abs(x.takeoff - y.takeoff) <= 0.01 * max(y.airborne_us, 1)
    total_a = sum(x.airborne_us for x in a.flights)
    total_b = sum(x.airborne_us for x in b.flights)
    assert total_a == pytest.approx(total_b, rel=0.01)
    if len(ref.accel):
        assert magnitude(ours.accel).max() == pytest.approx(magnitude(ref.accel).max(), rel=1e-6)


@pytest.mark.parametrize(("name", "flights"), [("test.ulg", 2), ("14_19_29.ulg", 1)])
def test_ulog_flights_agree_with_pyulog(name: str, flights: int) -> None:
    path = shared_log(name)
    ref = pyulog_reference(path)
    reference = LogData(
        format="ulog",
        first_t=ref["first_t"],
        last_t=ref["last_t"],
        armed=ref["armed"],
        landed=ref["landed"],
        altitude=ref["altitude"],
        accel=ref["accel"],
    )
    ours = fl.read(path)
    agree(ours, reference)
    assert len(extract(ours).flights) == flights


def _mavlink(path: Path, types: set[str]) -> list[object]:
    from pymavlink import mavutil

    conn = mavutil.mavlink_connection(str(path))
    out = []
    while (m := conn.recv_msg()) is not None:
        if m.get_type() in types:
            out.append(m)
    return out


def test_dataflash_bin_flights_agree_with_pymavlink() -> None:
    path = shared_log("test_log_pilot_position.BIN")
    msgs = _mavlink(path, {"STAT", "IMU"})
    stat = [m for m in msgs if m.get_type() == "STAT"]
    imu = [m for m in msgs if m.get_type() == "IMU" and getattr(m, "I", 0) == 0]
    t = [m.TimeUS for m in stat]
    reference = LogData(
        format="dataflash-bin",
        first_t=min(t),
        last_t=max(t),
        armed=series(t, [float(m.Armed) for m in stat]),
        landed=series(t, [float(not m.isFlying) for m in stat]),
        accel=Series(
            np.array([m.TimeUS for m in imu], dtype=np.int64),
            np.array([[m.AccX, m.AccY, m.AccZ] for m in imu]),
        ),
    )
    ours = fl.read(path)
    agree(ours, reference)
    assert extract(ours).flights == []  # never armed (SOURCES.md)


def test_dataflash_text_flights_agree_with_pymavlink() -> None:
    path = shared_log("nan.log")
    msgs = _mavlink(path, {"EV", "IMU"})
    imu = [m for m in msgs if m.get_type() == "IMU"]
    base = imu[0]._timestamp - imu[0].TimeMS / 1000
    ev = [(m.Id, round((m._timestamp - base) * 1e6)) for m in msgs if m.get_type() == "EV"]
    armed = [(t, float(i == 10)) for i, t in ev if i in (10, 11)]
    landed = [(t, float(i == 18)) for i, t in ev if i in (16, 18, 28)]
    reference = LogData(
        format="dataflash-text",
        first_t=imu[0].TimeMS * 1000,
        last_t=imu[-1].TimeMS * 1000,
        armed=series([t for t, _ in armed], [v for _, v in armed]),
        landed=series([t for t, _ in landed], [v for _, v in landed]),
        accel=Series(
            np.array([m.TimeMS * 1000 for m in imu], dtype=np.int64),
            np.array([[m.AccX, m.AccY, m.AccZ] for m in imu]),
        ),
    )
    agree(fl.read(path), reference)


def test_tlog_flights_agree_with_pymavlink() -> None:
    path = shared_log("vtol.tlog")
    msgs = [
        m
        for m in _mavlink(path, {"HEARTBEAT", "RAW_IMU"})
        if (m.get_srcSystem(), m.get_srcComponent()) == (1, 1)
    ]
    hb = [m for m in msgs if m.get_type() == "HEARTBEAT"]
    imu = [m for m in msgs if m.get_type() == "RAW_IMU"]
    t = [round(m._timestamp * 1e6) for m in hb]
    g = 9.80665 / 1000
    reference = LogData(
        format="tlog",
        start_us=0,
        first_t=t[0],
        last_t=t[-1],
        armed=series(t, [float(m.base_mode & 128 != 0) for m in hb]),
        landed=series(t, [float(m.system_status == 3) for m in hb]),
        accel=Series(
            np.array([round(m._timestamp * 1e6) for m in imu], dtype=np.int64),
            np.array([[m.xacc * g, m.yacc * g, m.zacc * g] for m in imu]),
        ),
    )
    ours = fl.read(path)
    agree(ours, reference)
    assert len(extract(ours).flights) == 1


def test_every_shared_log_summarizes() -> None:
    """Every file of the shared folder either summarizes or is refused cleanly."""
    folder = shared_log("test.ulg").parent
    for path in sorted(folder.iterdir()):
        try:
            s = fl.summarize(path)
        except fl.LogError as exc:
            assert path.suffix == ".md", (path, exc)
            continue
        assert s["airborne_s"] == pytest.approx(sum(f["airborne_s"] for f in s["flights"]))
        assert s["duration_s"] > 0
