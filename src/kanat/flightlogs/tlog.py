"""MAVLink telemetry logs (``.tlog``) read into :class:`LogData`.

Django-free. A tlog is a sequence of records: an 8-byte big-endian timestamp (UTC µs, the
ground station's clock when it received the packet) followed by one MAVLink v1 (``0xFE``) or
v2 (``0xFD``) packet. The file is streamed in chunks; per chunk the record starts are every
position whose next 8 bytes look like a timestamp between 2001 and 2100 followed by a magic
byte, and the records kept are those a sequential reader keeps (each record's length from its
header, resync with a count of skipped bytes after corruption; see
:func:`kanat.flightlogs.dataflash.greedy_chain`). Only the messages below are decoded, in
bulk with numpy structured dtypes in MAVLink wire order (fields sorted by size, extensions
last); MAVLink 2 payloads with trailing zeros cut are zero-extended. The CRC (with the
message's CRC_EXTRA) of every decoded packet is checked, vectorised: failing packets are
dropped and counted in a warning. Signed MAVLink 2 packets are read (signature not checked).

Time: log time is the tlog's own timestamp, UTC µs; ``start_us`` is 0 (log time is UTC).
Timestamps going backwards (the ground station's clock was set) are put back in order with a
warning. SYSTEM_TIME (the vehicle's GPS clock) is only compared with it: a difference over a
minute is reported.

Vehicle: the system id whose HEARTBEATs come with an autopilot type other than
MAV_AUTOPILOT_INVALID (8) (most such HEARTBEATs if several), and its component that sent
them; packets of other systems (ground stations, other vehicles) and components are ignored.
``vehicle_id`` is ``"mavlink-sysid-N"``.

Series:
    * ``armed``: HEARTBEAT base_mode bit MAV_MODE_FLAG_SAFETY_ARMED (128).
    * ``landed``: EXTENDED_SYS_STATE landed_state (ON_GROUND → 1; IN_AIR, TAKEOFF, LANDING → 0;
      UNDEFINED skipped). Without EXTENDED_SYS_STATE and for ArduPilot only, HEARTBEAT
      system_status: STANDBY → 1, ACTIVE → 0 (ArduPlane: is_flying; ArduCopter 3.6+:
      land_complete; older ArduCopter says ACTIVE whenever armed), other states skipped.
    * ``altitude``: GLOBAL_POSITION_INT relative_alt (mm → m).
    * ``climb``: VFR_HUD climb, else -GLOBAL_POSITION_INT vz (cm/s, down → m/s up).
    * ``speed``: VFR_HUD airspeed when SYS_STATUS says a differential pressure sensor is
      present (``speed_kind`` "air"), else VFR_HUD groundspeed ("ground").
    * ``accel``: HIGHRES_IMU (m/s², id 0), else SCALED_IMU, else RAW_IMU (id 0) in mG
      × 9.80665/1000 (ArduPilot sends RAW_IMU in mG). First IMU only (not SCALED_IMU2/3).
    * ``temperature``: SCALED_PRESSURE temperature_press_diff (airspeed sensor: outside air)
      where non-zero, else temperature (the barometer, inside the autopilot), cdegC → °C.
    * ``battery_v``/``battery_a``: SYS_STATUS voltage_battery (mV; 0 and 65535 = none) and
      current_battery (cA; -1 = none), else BATTERY_STATUS id 0 (sum of the cell voltages
      that are set, current_battery).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from numpy.lib.recfunctions import repack_fields

from kanat.flightlogs.base import F64, I64, LogData, LogError, Series
from kanat.flightlogs.dataflash import greedy_chain, rows_at, stream

U8 = npt.NDArray[np.uint8]

MAGIC_V1, MAGIC_V2 = 0xFE, 0xFD
TS_LEN = 8
MAX_RECORD = TS_LEN + 10 + 255 + 2 + 13
PAD = 512  # >= the longest decoded payload: gathers never leave the buffer
G = 9.80665
MAV_AUTOPILOT_INVALID = 8
MAV_AUTOPILOT_ARDUPILOTMEGA = 3
SENSOR_DIFFERENTIAL_PRESSURE = 0x10

# timestamps from 2001 to 2100: the big-endian top bytes are 0x00, 0x03..0x0E
TS_BYTE1_MIN, TS_BYTE1_MAX = 0x03, 0x0E

#: id -> (name, CRC_EXTRA, v1 payload length, wire dtype incl. extensions)
MESSAGES: dict[int, tuple[str, int, int, np.dtype[np.void]]] = {}
_Field = tuple[str, str] | tuple[str, str, tuple[int]]


def _msg(mid: int, name: str, crc: int, base_len: int, fields: list[_Field]) -> None:
    MESSAGES[mid] = (name, crc, base_len, np.dtype(fields))


_msg(
    0,
    "HEARTBEAT",
    50,
    9,
    [("custom_mode", "<u4"), ("type", "u1"), ("autopilot", "u1"), ("base_mode", "u1"),
     ("system_status", "u1"), ("mavlink_version", "u1")],
)  # fmt: skip
_msg(
    1,
    "SYS_STATUS",
    124,
    31,
    [("present", "<u4"), ("enabled", "<u4"), ("health", "<u4"), ("load", "<u2"),
     ("voltage_battery", "<u2"), ("current_battery", "<i2"), ("drop_rate_comm", "<u2"),
     ("errors_comm", "<u2"), ("errors", "<u2", (4,)), ("battery_remaining", "i1"),
     ("present_ext", "<u4"), ("enabled_ext", "<u4"), ("health_ext", "<u4")],
)  # fmt: skip
_msg(2, "SYSTEM_TIME", 137, 12, [("time_unix_usec", "<u8"), ("time_boot_ms", "<u4")])
_msg(
    26,
    "SCALED_IMU",
    170,
    22,
    [("time_boot_ms", "<u4"), ("acc", "<i2", (3,)), ("gyro", "<i2", (3,)), ("mag", "<i2", (3,)),
     ("temperature", "<i2")],
)  # fmt: skip
_msg(
    27,
    "RAW_IMU",
    144,
    26,
    [("time_usec", "<u8"), ("acc", "<i2", (3,)), ("gyro", "<i2", (3,)), ("mag", "<i2", (3,)),
     ("id", "u1"), ("temperature", "<i2")],
)  # fmt: skip
_msg(
    29,
    "SCALED_PRESSURE",
    115,
    14,
    [("time_boot_ms", "<u4"), ("press_abs", "<f4"), ("press_diff", "<f4"),
     ("temperature", "<i2"), ("temperature_press_diff", "<i2")],
)  # fmt: skip
_msg(
    33,
    "GLOBAL_POSITION_INT",
    104,
    28,
    [("time_boot_ms", "<u4"), ("lat", "<i4"), ("lon", "<i4"), ("alt", "<i4"),
     ("relative_alt", "<i4"), ("vx", "<i2"), ("vy", "<i2"), ("vz", "<i2"), ("hdg", "<u2")],
)  # fmt: skip
_msg(
    74,
    "VFR_HUD",
    20,
    20,
    [("airspeed", "<f4"), ("groundspeed", "<f4"), ("alt", "<f4"), ("climb", "<f4"),
     ("heading", "<i2"), ("throttle", "<u2")],
)  # fmt: skip
_msg(
    105,
    "HIGHRES_IMU",
    93,
    62,
    [("time_usec", "<u8"), ("acc", "<f4", (3,)), ("gyro", "<f4", (3,)), ("mag", "<f4", (3,)),
     ("abs_pressure", "<f4"), ("diff_pressure", "<f4"), ("pressure_alt", "<f4"),
     ("temperature", "<f4"), ("fields_updated", "<u2"), ("id", "u1")],
)  # fmt: skip
_msg(
    147,
    "BATTERY_STATUS",
    154,
    36,
    [("current_consumed", "<i4"), ("energy_consumed", "<i4"), ("temperature", "<i2"),
     ("voltages", "<u2", (10,)), ("current_battery", "<i2"), ("id", "u1"),
     ("battery_function", "u1"), ("type", "u1"), ("battery_remaining", "i1"),
     ("time_remaining", "<i4"), ("charge_state", "u1"), ("voltages_ext", "<u2", (4,)),
     ("mode", "u1"), ("fault_bitmask", "<u4")],
)  # fmt: skip
_msg(245, "EXTENDED_SYS_STATE", 130, 2, [("vtol_state", "u1"), ("landed_state", "u1")])

_KEPT_IDS = np.array(sorted(MESSAGES), np.int64)

#: the fields we use of each message (only these are kept while streaming)
USED: dict[int, list[str]] = {
    0: ["autopilot", "base_mode", "system_status"],
    1: ["present", "voltage_battery", "current_battery"],
    2: ["time_unix_usec"],
    26: ["acc"],
    27: ["acc", "id"],
    29: ["temperature", "temperature_press_diff"],
    33: ["relative_alt", "vx", "vy", "vz"],
    74: ["airspeed", "groundspeed", "climb"],
    105: ["acc", "id"],
    147: ["voltages", "current_battery", "id"],
    245: ["landed_state"],
}
_USED_DTYPE = {mid: repack_fields(np.zeros(0, MESSAGES[mid][3])[USED[mid]]).dtype for mid in USED}


def _crc_table() -> npt.NDArray[np.uint16]:
    """X.25 (CRC-16/MCRF4XX) table: MAVLink's crc_accumulate of each byte from 0."""
    table = np.zeros(256, np.uint16)
    for b in range(256):
        tmp = b & 0xFF
        tmp ^= (tmp << 4) & 0xFF
        table[b] = ((tmp << 8) ^ (tmp << 3) ^ (tmp >> 4)) & 0xFFFF
    return table


_CRC = _crc_table()


def x25_crc(rows: U8, lengths: npt.NDArray[np.int64], extra: int) -> npt.NDArray[np.uint16]:
    """CRC of ``rows[i, :lengths[i]]`` then the ``extra`` byte, for every row at once."""
    n = rows.shape[0]
    crc = np.full(n, 0xFFFF, np.uint16)
    width = int(lengths.max()) if n else 0
    for j in range(width):
        live = lengths > j
        upd = (crc >> 8) ^ _CRC[(crc ^ rows[:, j]) & 0xFF]
        crc = np.where(live, upd, crc).astype(np.uint16)
    return ((crc >> 8) ^ _CRC[(crc ^ extra) & 0xFF]).astype(np.uint16)


@dataclass
class _Packets:
    """Decoded packets of one message id, in chunks."""

    t: list[I64] = field(default_factory=list)
    sys: list[npt.NDArray[np.uint8]] = field(default_factory=list)
    comp: list[npt.NDArray[np.uint8]] = field(default_factory=list)
    rec: list[npt.NDArray[np.void]] = field(default_factory=list)


class _Reader:
    again = False

    def __init__(self) -> None:
        self.packets: dict[int, _Packets] = {mid: _Packets() for mid in MESSAGES}
        self.skipped = 0
        self.skip_places = 0
        self.crc_bad = 0
        self.short = 0
        self.nrec = 0
        self.tmin: int | None = None
        self.tmax: int | None = None
        self.backwards = False
        self.last_t = -1

    def chunk(self, buf: bytearray, n: int, final: bool) -> int:
        arr = np.frombuffer(buf, np.uint8)
        if n < TS_LEN + 8:
            return 0
        body = arr[TS_LEN:n]
        mag = np.flatnonzero((body == MAGIC_V1) | (body == MAGIC_V2))
        p = mag[(arr[mag] == 0) & (arr[mag + 1] >= TS_BYTE1_MIN) & (arr[mag + 1] <= TS_BYTE1_MAX)]
        v2 = arr[p + TS_LEN] == MAGIC_V2
        plen = arr[p + TS_LEN + 1].astype(np.int64)
        signed = v2 & ((arr[p + TS_LEN + 2] & 1) == 1)
        total = TS_LEN + np.where(v2, 12, 8) + plen + np.where(signed, 13, 0)
        ends = p + total
        ok = ends <= n
        p, v2, plen, ends = p[ok], v2[ok], plen[ok], ends[ok]
        path = greedy_chain(p, ends)
        p, v2, plen, ends = p[path], v2[path], plen[path], ends[path]

        if len(p):
            self._skip(int(p[0]))
            gaps = p[1:] - ends[:-1]
            bad = gaps > 0
            if bad.any():
                self._skip(int(gaps[bad].sum()), int(bad.sum()))
            consumed = int(ends[-1])
        else:
            consumed = 0
        if not final and n - consumed > MAX_RECORD:
            self._skip(n - MAX_RECORD - consumed)
            consumed = n - MAX_RECORD
        if len(p):
            self._decode(arr, p, v2, plen)
        return consumed

    def _skip(self, nbytes: int, places: int = 1) -> None:
        if nbytes > 0:
            self.skipped += nbytes
            self.skip_places += places

    def _decode(self, arr: U8, p: I64, v2: npt.NDArray[np.bool_], plen: I64) -> None:
        ts = rows_at(arr, p, TS_LEN).view(">u8").ravel().astype(np.int64)
        self.nrec += len(p)
        lo, hi = int(ts.min()), int(ts.max())
        self.tmin = lo if self.tmin is None else min(self.tmin, lo)
        self.tmax = hi if self.tmax is None else max(self.tmax, hi)
        if (np.diff(ts) < 0).any() or ts[0] < self.last_t:
            self.backwards = True
        self.last_t = int(ts[-1])

        m = p + TS_LEN  # the magic byte
        msgid = np.where(v2, arr[m + 7].astype(np.int64), arr[m + 5].astype(np.int64))
        big = v2 & ((arr[m + 8] != 0) | (arr[m + 9] != 0))
        msgid[big] = -1  # ids above 255: none we keep
        keep = np.isin(msgid, _KEPT_IDS)
        if not keep.any():
            return
        m, v2, plen, ts, msgid = m[keep], v2[keep], plen[keep], ts[keep], msgid[keep]
        hdr = np.where(v2, 10, 6)
        sysid = np.where(v2, arr[m + 5], arr[m + 3]).astype(np.uint8)
        compid = np.where(v2, arr[m + 6], arr[m + 4]).astype(np.uint8)
        for mid in np.unique(msgid).tolist():
            name, extra, base_len, dtype = MESSAGES[mid]
            sel = np.flatnonzero(msgid == mid)
            ln = plen[sel]
            h = hdr[sel]
            # v1 payloads are complete; v2 ones may be cut after the last non-zero byte (or
            # longer, with extension fields newer than ours)
            fine = np.where(v2[sel], ln >= 1, ln >= base_len)
            if not fine.all():
                self.short += int((~fine).sum())
                sel, ln, h = sel[fine], ln[fine], h[fine]
            if not len(sel):
                continue
            # CRC over header (after the magic) + payload, then CRC_EXTRA
            span = h - 1 + ln
            rows = rows_at(arr, m[sel] + 1, int(span.max()) + 2)
            crc = x25_crc(rows, span, extra)
            at = np.arange(len(sel))
            got = rows[at, span].astype(np.uint16) | (rows[at, span + 1].astype(np.uint16) << 8)
            good = crc == got
            if not good.all():
                self.crc_bad += int((~good).sum())
                sel, ln, h = sel[good], ln[good], h[good]
                if not len(sel):
                    continue
            # payloads, zero-extended to the full length
            width = dtype.itemsize
            pay = rows_at(arr, m[sel] + h, width).copy()
            pay[np.arange(width)[None, :] >= ln[:, None]] = 0
            pk = self.packets[mid]
            pk.t.append(ts[sel])
            pk.sys.append(sysid[sel])
            pk.comp.append(compid[sel])
            pk.rec.append(repack_fields(pay.view(dtype).ravel()[USED[mid]]))

    # --- the end ----------------------------------------------------------------------------

    def finish(self, size: int) -> LogData:
        data = LogData(format="tlog", start_us=0, size=size)
        data.first_t = int(self.tmin or 0)
        data.last_t = int(self.tmax or 0)
        w: list[str] = []

        # each message's chunks in one array, the chunks freed as we go
        whole: dict[
            int, tuple[I64, npt.NDArray[np.uint8], npt.NDArray[np.uint8], npt.NDArray[np.void]]
        ]
        whole = {}
        for mid, pk in self.packets.items():
            if pk.t:
                whole[mid] = (
                    np.concatenate(pk.t),
                    np.concatenate(pk.sys),
                    np.concatenate(pk.comp),
                    np.concatenate(pk.rec),
                )
            else:
                e8 = np.zeros(0, np.uint8)
                whole[mid] = (np.zeros(0, np.int64), e8, e8, np.zeros(0, _USED_DTYPE[mid]))
            pk.t.clear()
            pk.sys.clear()
            pk.comp.clear()
            pk.rec.clear()

        def cat(
            mid: int,
        ) -> tuple[I64, npt.NDArray[np.uint8], npt.NDArray[np.uint8], npt.NDArray[np.void]]:
            return whole[mid]

        hb_t, hb_s, hb_c, hb = cat(0)
        ap = hb["autopilot"] != MAV_AUTOPILOT_INVALID
        if ap.any():
            systems, counts = np.unique(hb_s[ap], return_counts=True)
            sysid = int(systems[np.argmax(counts)])
            comps, ccounts = np.unique(hb_c[ap & (hb_s == sysid)], return_counts=True)
            compid = int(comps[np.argmax(ccounts)])
            if len(systems) > 1:
                others = ", ".join(str(int(s)) for s in systems if int(s) != sysid)
                w.append(f"several vehicles in the log: read system {sysid}, ignored {others}")
            autopilot = int(np.bincount(hb["autopilot"][ap & (hb_s == sysid)]).argmax())
        else:
            seen: dict[tuple[int, int], int] = {}
            for mid in MESSAGES:
                _, s, c, _ = cat(mid)
                keys, counts = np.unique(s.astype(np.int64) * 256 + c, return_counts=True)
                for key, k in zip(keys.tolist(), counts.tolist(), strict=True):
                    seen[(key // 256, key % 256)] = seen.get((key // 256, key % 256), 0) + k
            if not seen:
                raise LogError("no telemetry from a vehicle in this tlog")
            sysid, compid = max(seen, key=lambda k: seen[k])
            autopilot = -1
            w.append(f"no autopilot HEARTBEAT: read system {sysid}, the most frequent sender")
        data.vehicle_id = f"mavlink-sysid-{sysid}"
        note: list[str] = []

        def of(mid: int) -> tuple[I64, npt.NDArray[np.void]]:
            t, s, c, rec = whole.pop(mid)  # used once: freed after
            sel = (s == sysid) & (c == compid)
            return t[sel], rec[sel]

        def series(t: I64, v: F64, keep: npt.NDArray[np.bool_] | None = None) -> Series:
            if keep is not None:
                t, v = t[keep], v[keep]
            t = np.ascontiguousarray(t, np.int64)
            v = np.ascontiguousarray(v, np.float64)
            if len(t) > 1 and (np.diff(t) < 0).any():
                note.append("x")
                o = np.argsort(t, kind="stable")
                t, v = t[o], v[o]
            return Series(t, v)

        del hb_t, hb_s, hb_c, hb
        t_hb, hb = of(0)
        own = hb["autopilot"] != MAV_AUTOPILOT_INVALID
        data.armed = series(t_hb, ((hb["base_mode"] & 128) != 0).astype(np.float64), own)

        t, ess = of(245)
        if len(t):
            ls = ess["landed_state"].astype(np.int64)
            data.landed = series(t, (ls == 1).astype(np.float64), (ls >= 1) & (ls <= 4))
        elif autopilot == MAV_AUTOPILOT_ARDUPILOTMEGA:
            st = hb["system_status"].astype(np.int64)
            keep = own & ((st == 3) | (st == 4))
            data.landed = series(t_hb, (st == 3).astype(np.float64), keep)

        t_gp, gp = of(33)
        data.altitude = series(t_gp, gp["relative_alt"] / 1000.0)
        t_hud, hud = of(74)
        if len(t_hud):
            data.climb = series(t_hud, hud["climb"].astype(np.float64))
        else:
            data.climb = series(t_gp, -gp["vz"] / 100.0)

        t_ss, ss = of(1)
        has_airspeed = bool(len(ss) and (ss["present"] & SENSOR_DIFFERENTIAL_PRESSURE).any())
        if len(t_hud):
            field = "airspeed" if has_airspeed else "groundspeed"
            data.speed = series(t_hud, hud[field].astype(np.float64))
            data.speed_kind = "air" if has_airspeed else "ground"
        elif len(t_gp):
            data.speed = series(t_gp, np.hypot(gp["vx"], gp["vy"]) / 100.0)
            data.speed_kind = "ground"

        t_hr, hr = of(105)
        t_si, si = of(26)
        t_ri, ri = of(27)
        if len(t_hr) and (hr["id"] == 0).any():
            data.accel = series(t_hr, hr["acc"].astype(np.float64), hr["id"] == 0)
        elif len(t_si):
            data.accel = series(t_si, si["acc"] * (G / 1000.0))
        elif len(t_ri) and (ri["id"] == 0).any():
            data.accel = series(t_ri, ri["acc"] * (G / 1000.0), ri["id"] == 0)
        else:
            data.accel = Series.empty(3)

        t_sp, sp = of(29)
        diff_t = sp["temperature_press_diff"]
        if len(t_sp) and (diff_t != 0).any():
            data.temperature = series(t_sp, diff_t / 100.0, diff_t != 0)
        else:
            data.temperature = series(t_sp, sp["temperature"] / 100.0)

        volt = ss["voltage_battery"].astype(np.int64)
        curr = ss["current_battery"].astype(np.int64)
        vok = (volt != 0) & (volt != 0xFFFF)
        if vok.any():
            data.battery_v = series(t_ss, volt / 1000.0, vok)
            data.battery_a = series(t_ss, curr / 100.0, curr != -1)
        else:
            t_bs, bs = of(147)
            first = bs["id"] == 0
            cells = bs["voltages"].astype(np.int64)
            used = cells != 0xFFFF
            vsum = np.where(used, cells, 0).sum(axis=1)
            data.battery_v = series(t_bs, vsum / 1000.0, first & used.any(axis=1))
            bc = bs["current_battery"].astype(np.int64)
            data.battery_a = series(t_bs, bc / 100.0, first & (bc != -1))

        t_st, st_rec = of(2)
        unix = st_rec["time_unix_usec"].astype(np.int64)
        ok = unix > 0
        if ok.any():
            off = float(np.median(unix[ok] - t_st[ok])) / 1e6
            if abs(off) > 60:
                w.append(f"the vehicle's clock (SYSTEM_TIME) and the tlog's differ by {off:.0f} s")

        if self.skipped:
            w.append(
                f"{self.skipped} bytes skipped in {self.skip_places} place(s): corrupt or "
                "not MAVLink"
            )
        if self.crc_bad:
            w.append(f"{self.crc_bad} packet(s) with a bad CRC dropped")
        if self.short:
            w.append(f"{self.short} packet(s) with a wrong payload length dropped")
        if self.backwards or note:
            w.append("tlog time goes backwards in places: samples put back in time order")
        data.warnings = w
        return data


def sniff(head: bytes) -> bool:
    """Does this look like a tlog: a plausible timestamp then a MAVLink magic byte, twice?"""
    pos = 0
    for _ in range(2):
        if len(head) < pos + TS_LEN + 2:
            return pos > 0 and len(head) <= pos
        if head[pos] != 0 or not TS_BYTE1_MIN <= head[pos + 1] <= TS_BYTE1_MAX:
            return False
        magic = head[pos + TS_LEN]
        plen = head[pos + TS_LEN + 1]
        if magic == MAGIC_V1:
            pos += TS_LEN + 8 + plen
        elif magic == MAGIC_V2:
            signed = len(head) > pos + TS_LEN + 2 and head[pos + TS_LEN + 2] & 1
            pos += TS_LEN + 12 + plen + (13 if signed else 0)
        else:
            return False
    return True


def read(path: str | os.PathLike[str], *, chunk_size: int = 1 << 24) -> LogData:
    """Read a MAVLink telemetry log into :class:`LogData` (log time = UTC µs)."""
    chunk_size = max(int(chunk_size), 1024)
    name = os.fspath(path)
    try:
        reader = _Reader()
        with open(path, "rb") as fh, np.errstate(all="ignore"):
            head = fh.read(4096)
            if not sniff(head):
                raise LogError(
                    f"{name}: not a MAVLink telemetry log (no timestamped MAVLink packets at "
                    "the start); we read ULog, DataFlash .bin/.log, MAVLink .tlog and CSV logs"
                )
            fh.seek(0)
            size, rest = stream(fh, chunk_size, reader, PAD)
        if reader.nrec == 0:
            raise LogError(f"{name}: no readable MAVLink packets")
        with np.errstate(all="ignore"):
            data_ = reader.finish(size)
        if rest:
            data_.warnings.append(f"truncated or unreadable end: {len(rest)} bytes")
        return data_
    except LogError:
        raise
    except OSError as e:
        raise LogError(f"{name}: cannot read the file ({e})") from e
    except Exception as e:  # noqa: BLE001 - anything unexpected is an unreadable log
        raise LogError(f"{name}: unreadable tlog ({type(e).__name__}: {e})") from e
