"""tlog reader: against pymavlink on a real tlog, synthetic packets, damaged copies, fuzz."""

from __future__ import annotations

import struct
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kanat.flightlogs import tlog
from kanat.flightlogs.base import LogData, LogError

from .conftest import SERIES, check_series, shared_log

VTOL = "vtol.tlog"
G = 9.80665


def _same(a: LogData, b: LogData) -> None:
    for name in SERIES:
        np.testing.assert_array_equal(getattr(a, name).t, getattr(b, name).t, err_msg=name)
        np.testing.assert_array_equal(getattr(a, name).v, getattr(b, name).v, err_msg=name)
    assert (a.first_t, a.last_t, a.vehicle_id, a.warnings) == (
        b.first_t,
        b.last_t,
        b.vehicle_id,
        b.warnings,
    )


# --- the real tlog against pymavlink -----------------------------------------------------------


@pytest.mark.shared_data
def test_vtol_matches_pymavlink() -> None:
    from pymavlink import mavutil

    path = shared_log(VTOL)
    d = tlog.read(path)
    assert d.format == "tlog" and d.start_us == 0 and d.size == path.stat().st_size
    assert d.vehicle_id == "mavlink-sysid-1" and d.warnings == []
    for name in SERIES:
        check_series(getattr(d, name))

    types = ["HEARTBEAT", "GLOBAL_POSITION_INT", "VFR_HUD", "RAW_IMU", "SCALED_PRESSURE"]
    ref: dict[str, list[object]] = {t: [] for t in types}
    conn = mavutil.mavlink_connection(str(path))
    first = None
    while (m := conn.recv_msg()) is not None:
        if first is None:
            first = m._timestamp
        if m.get_type() in ref and (m.get_srcSystem(), m.get_srcComponent()) == (1, 1):
            ref[m.get_type()].append(m)

    def us(ms: list[object]) -> np.ndarray:
        return np.array([m._timestamp * 1e6 for m in ms])

    hb = ref["HEARTBEAT"]
    np.testing.assert_allclose(d.armed.t, us(hb), atol=1)
    np.testing.assert_array_equal(d.armed.v, [float(m.base_mode & 128 != 0) for m in hb])
    # no EXTENDED_SYS_STATE: ArduPlane's HEARTBEAT system_status (STANDBY = not flying)
    np.testing.assert_array_equal(d.landed.v, [float(m.system_status == 3) for m in hb])

    gp = ref["GLOBAL_POSITION_INT"]
    np.testing.assert_allclose(d.altitude.t, us(gp), atol=1)
    np.testing.assert_allclose(d.altitude.v, [m.relative_alt / 1000 for m in gp])
    hud = ref["VFR_HUD"]
    np.testing.assert_allclose(d.climb.t, us(hud), atol=1)
    np.testing.assert_allclose(d.climb.v, [m.climb for m in hud])
    assert d.speed_kind == "air"  # quadplane with an airspeed sensor
    np.testing.assert_allclose(d.speed.v, [m.airspeed for m in hud])
    imu = ref["RAW_IMU"]
    acc = np.array([[m.xacc, m.yacc, m.zacc] for m in imu]) * G / 1000
    np.testing.assert_allclose(d.accel.t, us(imu), atol=1)
    np.testing.assert_allclose(d.accel.v, acc)
    assert np.linalg.norm(d.accel.v, axis=1).max() == pytest.approx(
        np.linalg.norm(acc, axis=1).max()
    )
    sp = ref["SCALED_PRESSURE"]
    np.testing.assert_allclose(d.temperature.v, [m.temperature / 100 for m in sp])
    assert len(d.battery_v) == 0  # SITL without a battery monitor: voltage 0
    assert first is not None and d.first_t == pytest.approx(first * 1e6, abs=1)

    # SOURCES.md: 207.6 s, armed 0 -> 176.5 s, ~66 m, landed at the end
    assert (d.last_t - d.first_t) / 1e6 == pytest.approx(207.6, abs=0.1)
    assert d.armed.v[0] == 1.0 and d.armed.v[-1] == 0.0
    disarm = d.armed.t[np.argmax(d.armed.v == 0)]
    assert (disarm - d.first_t) / 1e6 == pytest.approx(176.5, abs=0.2)
    assert 55 < d.altitude.v.max() < 70
    assert d.landed.v[0] == 0.0 and d.landed.v[-1] == 1.0
    touchdown = d.landed.t[np.argmax(d.landed.v == 1)]
    assert d.first_t + 150e6 < touchdown <= disarm


@pytest.mark.shared_data
def test_vtol_small_chunks_same_result() -> None:
    path = shared_log(VTOL)
    _same(tlog.read(path), tlog.read(path, chunk_size=1031))


@pytest.mark.shared_data
def test_vtol_truncated_and_corrupted(tmp_path: Path) -> None:
    path = shared_log(VTOL)
    raw = bytearray(path.read_bytes())
    full = tlog.read(path)
    cut = tmp_path / "cut.tlog"
    cut.write_bytes(bytes(raw[: len(raw) // 2 + 11]))
    d = tlog.read(cut)
    n = len(d.altitude)
    assert 0 < n < len(full.altitude)
    np.testing.assert_array_equal(d.altitude.t, full.altitude.t[:n])
    assert any("end" in w for w in d.warnings)

    rng = np.random.default_rng(7)
    for at in (100_000, 400_000, 800_000):
        raw[at : at + 300] = rng.integers(0, 256, 300, dtype=np.uint8).tobytes()
    for at in (250_000, 600_000):  # flip single bits: CRC failures
        raw[at] ^= 0x10
    bad = tmp_path / "bad.tlog"
    bad.write_bytes(bytes(raw))
    d2 = tlog.read(bad)
    assert any("skipped" in w for w in d2.warnings)
    assert len(full.accel) * 0.97 < len(d2.accel) <= len(full.accel)
    assert np.isin(d2.altitude.t, full.altitude.t).all()
    for name in SERIES:
        check_series(getattr(d2, name))


# --- synthetic packets ---------------------------------------------------------------------------

CRC_EXTRA = {0: 50, 1: 124, 2: 137, 27: 144, 29: 115, 30: 39, 33: 104, 74: 20, 147: 154, 245: 130}


def crc_x25(data: bytes) -> int:
    crc = 0xFFFF
    for b in data:
        tmp = b ^ (crc & 0xFF)
        tmp = (tmp ^ (tmp << 4)) & 0xFF
        crc = ((crc >> 8) ^ (tmp << 8) ^ (tmp << 3) ^ (tmp >> 4)) & 0xFFFF
    return crc


def packet(
    msgid: int,
    payload: bytes,
    *,
    sys: int = 1,
    comp: int = 1,
    v2: bool = False,
    signed: bool = False,
    bad_crc: bool = False,
) -> bytes:
    if v2:
        payload = payload.rstrip(b"\0") or b"\0"  # MAVLink 2 cuts trailing zeros
        hdr = bytes((len(payload), 1 if signed else 0, 0, 0, sys, comp)) + msgid.to_bytes(
            3, "little"
        )
    else:
        hdr = bytes((len(payload), 0, sys, comp, msgid))
    crc = crc_x25(hdr + payload + bytes((CRC_EXTRA[msgid],))) ^ (1 if bad_crc else 0)
    out = bytes((0xFD if v2 else 0xFE,)) + hdr + payload + struct.pack("<H", crc)
    return out + (bytes(range(13)) if signed else b"")


def rec(t_us: int, pkt: bytes) -> bytes:
    return struct.pack(">Q", t_us) + pkt


T0 = 1_700_000_000_000_000


def heartbeat(base_mode: int, status: int = 4, autopilot: int = 3, type_: int = 2) -> bytes:
    return struct.pack("<IBBBBB", 0, type_, autopilot, base_mode, status, 3)


def gpi(rel_mm: int, vz: int = 0) -> bytes:
    return struct.pack("<IiiiihhhH", 1000, 1, 2, 3, rel_mm, 0, 0, vz, 0)


def hud(airspeed: float, ground: float, climb: float) -> bytes:
    return struct.pack("<ffffhH", airspeed, ground, 100.0, climb, 90, 50)


def raw_imu(x: int, y: int, z: int) -> bytes:
    return struct.pack("<Qhhhhhhhhh", 5, x, y, z, 0, 0, 0, 0, 0, 0)


def sys_status(mv: int, ca: int, present: int = 0) -> bytes:
    return struct.pack("<IIIHHhHHHHHHb", present, 0, 0, 0, mv, ca, 0, 0, 0, 0, 0, 0, 50)


def synthetic_tlog(v2: bool = False) -> bytes:
    out = []
    for i in range(30):
        t = T0 + i * 100_000
        armed = 128 if 5 <= i < 25 else 0
        out.append(rec(t, packet(0, heartbeat(armed | 1), v2=v2)))
        out.append(rec(t + 1, packet(0, heartbeat(0, autopilot=8, type_=6), sys=255, comp=190)))
        out.append(rec(t + 2, packet(33, gpi(i * 1000, vz=-50), v2=v2)))
        out.append(rec(t + 3, packet(74, hud(12.5, 3.0, 0.5), v2=v2)))
        out.append(rec(t + 4, packet(27, raw_imu(10, -20, -1000), v2=v2)))
        out.append(rec(t + 5, packet(1, sys_status(15_500, 250), v2=v2)))
        out.append(rec(t + 6, packet(30, bytes(28), v2=v2)))  # ATTITUDE: not kept
        landed = 1 if i < 8 or i > 22 else 2
        out.append(rec(t + 7, packet(245, bytes((0, landed)), v2=v2)))
        out.append(rec(t + 8, packet(29, struct.pack("<Iffhh", 9, 1000.0, 0.0, 2150, 0), v2=v2)))
    return b"".join(out)


@pytest.mark.parametrize("v2", [False, True])
def test_synthetic(tmp_path: Path, v2: bool) -> None:
    path = tmp_path / "s.tlog"
    path.write_bytes(synthetic_tlog(v2))
    d = tlog.read(path)
    assert d.warnings == [] and d.vehicle_id == "mavlink-sysid-1"
    t = T0 + np.arange(30) * 100_000
    np.testing.assert_array_equal(d.armed.t, t)
    np.testing.assert_array_equal(d.armed.v, [float(5 <= i < 25) for i in range(30)])
    np.testing.assert_array_equal(d.landed.v, [float(i < 8 or i > 22) for i in range(30)])
    np.testing.assert_array_equal(d.altitude.t, t + 2)
    np.testing.assert_allclose(d.altitude.v, np.arange(30.0))
    np.testing.assert_allclose(d.climb.v, 0.5)
    assert d.speed_kind == "ground"  # no differential pressure sensor in SYS_STATUS
    np.testing.assert_allclose(d.speed.v, 3.0)
    np.testing.assert_allclose(d.accel.v, np.tile([10, -20, -1000], (30, 1)) * G / 1000)
    np.testing.assert_allclose(d.battery_v.v, 15.5)
    np.testing.assert_allclose(d.battery_a.v, 2.5)
    np.testing.assert_allclose(d.temperature.v, 21.5)
    assert (d.first_t, d.last_t) == (T0, T0 + 29 * 100_000 + 8)


def test_zero_truncated_v2_and_signing(tmp_path: Path) -> None:
    """v2 payloads cut after their last non-zero byte are zero-extended; signed packets."""
    body = [
        rec(T0, packet(0, heartbeat(128), v2=True, signed=True)),
        rec(T0 + 1, packet(33, gpi(0, vz=0), v2=True)),  # relative_alt 0: cut before it
        rec(T0 + 2, packet(33, gpi(-2500, vz=120), v2=True, signed=True)),
        rec(T0 + 3, packet(74, bytes(20), v2=True)),  # all zero: 1 byte left
        rec(T0 + 4, packet(33, gpi(7000) + b"\x05\x06", v2=True)),  # newer extension fields
    ]
    assert len(packet(74, bytes(20), v2=True)) == 10 + 1 + 2
    path = tmp_path / "z.tlog"
    path.write_bytes(b"".join(body))
    d = tlog.read(path)
    np.testing.assert_allclose(d.altitude.v, [0.0, -2.5, 7.0])
    np.testing.assert_array_equal(d.climb.v, [0.0])
    np.testing.assert_array_equal(d.armed.v, [1.0])


def test_matches_pymavlink_encoder(tmp_path: Path) -> None:
    """Packets made by pymavlink's own encoder (v1 and v2), incl. extension fields."""
    from pymavlink.dialects.v10 import ardupilotmega as m1
    from pymavlink.dialects.v20 import ardupilotmega as m2

    out = []
    for k, dialect in enumerate((m1, m2)):
        mav = dialect.MAVLink(None, srcSystem=3, srcComponent=1)
        msgs = [
            dialect.MAVLink_heartbeat_message(2, 3, 128 | 81, 5, 4, 3),
            dialect.MAVLink_global_position_int_message(1, 2, 3, 4, 12_345, -7, 8, -250, 9),
            dialect.MAVLink_vfr_hud_message(21.5, 19.0, 270, 55, 400.0, 2.5),
            dialect.MAVLink_scaled_pressure_message(1, 1000.0, 2.0, 1234, *([2345] if k else [])),
            dialect.MAVLink_sys_status_message(16, 16, 16, 1, 12_600, 450, 0, 0, 0, 0, 0, 0, 80),
            dialect.MAVLink_raw_imu_message(
                9, 1, 2, -1001, 0, 0, 0, 0, 0, 0, *([0, 0] if k else [])
            ),
        ]
        for i, m in enumerate(msgs):
            out.append(rec(T0 + 10 * k + i, m.pack(mav)))
    path = tmp_path / "p.tlog"
    path.write_bytes(b"".join(out))
    d = tlog.read(path)
    assert d.vehicle_id == "mavlink-sysid-3" and d.warnings == []
    np.testing.assert_allclose(d.altitude.v, [12.345] * 2)
    np.testing.assert_allclose(d.climb.v, [2.5] * 2)
    assert d.speed_kind == "air"
    np.testing.assert_allclose(d.speed.v, [21.5] * 2)
    # v1 has no temperature_press_diff (extension): mixed sources are not mixed per sample
    np.testing.assert_allclose(d.temperature.v, [23.45])
    np.testing.assert_allclose(d.battery_v.v, [12.6] * 2)
    np.testing.assert_allclose(d.accel.v, [[1 * G / 1000, 2 * G / 1000, -1001 * G / 1000]] * 2)


def test_message_table_matches_dialect() -> None:
    from pymavlink.dialects.v20 import ardupilotmega as m2

    for mid, (name, crc, base_len, dtype) in tlog.MESSAGES.items():
        cls = m2.mavlink_map[mid]
        assert cls.msgname == name
        assert cls.crc_extra == crc
        assert cls.unpacker.size == dtype.itemsize
        assert base_len <= dtype.itemsize
    assert tlog.x25_crc(
        np.frombuffer(b"123456789", np.uint8)[None, :], np.array([9]), 0
    ) == crc_x25(b"123456789\0")


def test_bad_crc_and_gcs_and_second_vehicle(tmp_path: Path) -> None:
    body = [
        rec(T0, packet(0, heartbeat(128))),
        rec(T0 + 1, packet(33, gpi(5000))),
        rec(T0 + 2, packet(33, gpi(6000), bad_crc=True)),
        rec(T0 + 3, packet(0, heartbeat(0), sys=2)),
        rec(T0 + 4, packet(0, heartbeat(128))),
        rec(T0 + 5, packet(33, gpi(9000), sys=2)),
        rec(T0 + 6, packet(0, heartbeat(0, autopilot=8), sys=255)),
    ]
    path = tmp_path / "c.tlog"
    path.write_bytes(b"".join(body))
    d = tlog.read(path)
    np.testing.assert_allclose(d.altitude.v, [5.0])
    np.testing.assert_array_equal(d.armed.v, [1.0, 1.0])
    assert any("bad CRC" in w for w in d.warnings)
    assert any("several vehicles" in w for w in d.warnings)


def test_time_going_backwards(tmp_path: Path) -> None:
    body = [rec(T0 + dt, packet(33, gpi(i * 1000))) for i, dt in enumerate([0, 10, 5, 20])]
    path = tmp_path / "b.tlog"
    path.write_bytes(rec(T0, packet(0, heartbeat(0))) + b"".join(body))
    d = tlog.read(path)
    np.testing.assert_array_equal(d.altitude.t, T0 + np.array([0, 5, 10, 20]))
    np.testing.assert_allclose(d.altitude.v, [0, 2, 1, 3])
    assert any("backwards" in w for w in d.warnings)


def test_sniff() -> None:
    raw = synthetic_tlog()
    assert tlog.sniff(raw[:200])
    assert not tlog.sniff(b"\xa3\x95\x80" + bytes(200))
    assert not tlog.sniff(b"FMT, 128, 89, FMT, BBnNZ")
    assert not tlog.sniff(b"")


@pytest.mark.parametrize("content", [b"", b"hello", bytes(3000), b"\xa3\x95\x80" + bytes(500)])
def test_not_a_tlog(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "x.tlog"
    path.write_bytes(content)
    with pytest.raises(LogError):
        tlog.read(path)


def test_unreadable_paths(tmp_path: Path) -> None:
    with pytest.raises(LogError):
        tlog.read(tmp_path / "missing.tlog")
    with pytest.raises(LogError):
        tlog.read(tmp_path)


def test_only_gcs(tmp_path: Path) -> None:
    path = tmp_path / "g.tlog"
    path.write_bytes(rec(T0, packet(0, heartbeat(0, autopilot=8), sys=255)))
    d = tlog.read(path)  # no vehicle: read the only sender, say so
    assert d.warnings and not len(d.armed)


# --- fuzz --------------------------------------------------------------------------------------

_RAW = synthetic_tlog(v2=False)[:3000] + synthetic_tlog(v2=True)[:3000]

_edits = st.lists(
    st.tuples(
        st.floats(0, 1, allow_nan=False),
        st.sampled_from(["overwrite", "insert", "delete"]),
        st.binary(min_size=1, max_size=12),
    ),
    max_size=6,
)


def _read_bytes(raw: bytes, chunk: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "f.tlog"
        path.write_bytes(raw)
        try:
            d = tlog.read(path, chunk_size=chunk)
        except LogError as e:
            assert "unreadable tlog (" not in str(e), "an internal error"
            return
        assert isinstance(d, LogData)
        for name in SERIES:
            check_series(getattr(d, name))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edits=_edits, cut=st.floats(0.01, 1.0), chunk=st.sampled_from([1024, 1100, 1 << 20]))
def test_fuzz_tlog(edits: list[tuple[float, str, bytes]], cut: float, chunk: int) -> None:
    b = bytearray(_RAW)
    for where, kind, blob in edits:
        i = int(where * len(b))
        if kind == "overwrite":
            b[i : i + len(blob)] = blob
        elif kind == "insert":
            b[i:i] = blob
        else:
            del b[i : i + len(blob)]
    _read_bytes(bytes(b[: max(1, int(len(b) * cut))]), chunk)


@settings(max_examples=200, deadline=None)
@given(blob=st.binary(max_size=2000))
def test_fuzz_random_bytes(blob: bytes) -> None:
    _read_bytes(struct.pack(">Q", T0) + b"\xfe" + blob, 1024)
