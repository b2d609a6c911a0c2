"""Flight-log parsing benchmark: our readers against the reference parsers, in one run.

    .venv/bin/python bench/flightlog.py [--logs DIR] [--big MB] [--big-reference]

1. Every log in DIR (default ../shared/data/flightlogs): ``kanat.flightlogs.read`` against
   pyulog (``ULog(path)``) for ULog and a pymavlink ``recv_msg`` loop for DataFlash and
   tlog, each timed in this process (best of several runs), with MB/s and the ratio.
2. With ``--big MB``: large logs made from the real ones (their data records repeated with
   times shifted forward, as in a long flight), each parsed by our reader in a fresh process
   for its wall time and peak memory (RSS); with ``--big-reference`` the reference parsers
   too (slow: minutes per file at 200 MB).

It prints figures and ratios; it asserts nothing.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

import kanat.flightlogs as fl  # noqa: E402

SHARED = ROOT.parent / "shared" / "data" / "flightlogs"


def reference(path: Path, fmt: str) -> None:
    if fmt == "ulog":
        from pyulog import ULog

        ULog(str(path))
        return
    from pymavlink import mavutil

    conn = mavutil.mavlink_connection(str(path))
    while conn.recv_msg() is not None:
        pass


def best_of(fn, budget: float = 1.0, least: int = 3, most: int = 200) -> float:  # type: ignore[no-untyped-def]
    """The fastest of at least ``least`` runs, more while ``budget`` seconds last (at most
    ``most``): the same rule for ours and the reference, so a small file's few milliseconds
    are not decided by one busy moment of a shared machine."""
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < least or (len(times) < most and time.perf_counter() - start < budget):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def small(folder: Path) -> None:
    print(
        f"{'file':32} {'format':15} {'MB':>6} {'ours s':>9} {'MB/s':>7} "
        f"{'ref s':>9} {'MB/s':>7} {'ratio':>7}"
    )
    for path in sorted(folder.iterdir()):
        try:
            fmt = fl.detect(path.read_bytes()[: fl.HEAD_BYTES])
        except fl.LogError:
            continue
        mb = path.stat().st_size / 1e6
        ours = best_of(lambda p=path: fl.read(p))
        try:
            ref = best_of(lambda p=path, f=fmt: reference(p, f), budget=2.0)
            ref_txt, ratio = f"{ref:9.3f} {mb / ref:7.1f}", f"{ref / ours:6.0f}x"
        except Exception as exc:  # noqa: BLE001 - the reference parser may fail on real logs
            ref_txt, ratio = f"{'fails':>9} {'':7}", f" ({type(exc).__name__})"
        print(
            f"{path.name:32} {fmt:15} {mb:6.1f} {ours:9.4f} {mb / ours:7.0f} {ref_txt} {ratio:>7}"
        )


# --- large logs ---------------------------------------------------------------------------


def _ulog_big(src: Path, dst: Path, target: int) -> None:
    """Header and definitions once, then the data section's D/L/C/S/O records repeated
    with their timestamps shifted past the previous copy."""
    data = src.read_bytes()
    p, body_start = 16, None
    while p + 3 <= len(data):
        size, kind = data[p] | data[p + 1] << 8, chr(data[p + 2])
        if p + 3 + size > len(data):
            break
        if kind == "A":
            body_start = p + 3 + size
        p += 3 + size
    assert body_start is not None
    body, stamps, r = bytearray(), [], body_start
    while r + 3 <= p:
        size, kind = data[r] | data[r + 1] << 8, chr(data[r + 2])
        if kind in "DLCSO":
            if kind in "DLC":
                stamps.append(len(body) + {"D": 5, "L": 4, "C": 6}[kind])
            body += data[r : r + 3 + size]
        r += 3 + size
    _repeat(dst, data[:body_start], bytes(body), stamps, "<Q", target)


def _tlog_big(src: Path, dst: Path, target: int) -> None:
    data = src.read_bytes()
    stamps, p = [], 0
    while p + 10 <= len(data):
        magic, length = data[p + 8], data[p + 9]
        if magic == 0xFE:
            n = 8 + 6 + length + 2
        elif magic == 0xFD:
            n = 8 + 10 + length + 2 + (13 if data[p + 10] & 1 else 0)
        else:
            break
        stamps.append(p)
        p += n
    _repeat(dst, b"", data[:p], stamps, ">Q", target)


def _dataflash_big(src: Path, dst: Path, target: int) -> None:
    data = src.read_bytes()
    lengths: dict[int, int] = {128: 89}
    timed: set[int] = set()
    stamps, p, first_data = [], 0, None
    while p + 3 <= len(data) and data[p] == 0xA3 and data[p + 1] == 0x95:
        kind = data[p + 2]
        n = lengths.get(kind)
        if n is None or p + n > len(data):
            break
        if kind == 128:
            t, length = data[p + 3], data[p + 4]
            fmt = data[p + 9 : p + 25].rstrip(b"\0")
            cols = data[p + 25 : p + 89].rstrip(b"\0")
            lengths[t] = length
            if fmt[:1] == b"Q" and cols.startswith(b"TimeUS"):
                timed.add(t)
        elif kind in timed:
            first_data = p if first_data is None else first_data
            stamps.append(p + 3 - first_data)
        p += n
    assert first_data is not None
    _repeat(dst, data[:first_data], data[first_data:p], stamps, "<Q", target)


def _text_big(src: Path, dst: Path, target: int) -> None:
    lines = src.read_text().splitlines()
    head = [x for x in lines if x.startswith("FMT")]
    body = "\n".join(x for x in lines if not x.startswith("FMT")) + "\n"
    with dst.open("w") as out:
        out.write("\n".join(head) + "\n")
        while out.tell() < target:
            out.write(body)


def _repeat(dst: Path, head: bytes, body: bytes, stamps: list[int], code: str, target: int) -> None:
    import numpy as np

    block = np.frombuffer(body, dtype=np.uint8).copy()
    pos = np.array(stamps, dtype=np.int64)
    dt = np.dtype(code[0] + "u8")
    idx = pos[:, None] + np.arange(8)
    base = block[idx].copy().view(dt).ravel().astype(np.int64)
    span = int(base.max() - base.min()) + 1_000_000 if base.size else 0
    with dst.open("wb") as out:
        out.write(head)
        k = 0
        while out.tell() < target:
            block[idx] = (base + k * span).astype(dt).view(np.uint8).reshape(-1, 8)
            out.write(block.tobytes())
            k += 1


def _measure(path: Path, who: str) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one parse in a fresh process."""
    code = (
        "import sys, time, resource; sys.path.insert(0, sys.argv[3]);"
        "from bench.flightlog import parse_once; t = time.perf_counter();"
        "parse_once(sys.argv[1], sys.argv[2]);"
        "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(path), who, str(ROOT)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return float(out[0]), int(out[1]) / 1024


def parse_once(path: str, who: str) -> None:
    p = Path(path)
    if who == "ours":
        fl.read(p)
    else:
        reference(p, fl.detect(p.read_bytes()[: fl.HEAD_BYTES]))


def big(folder: Path, mb: int, with_reference: bool) -> None:
    makers = [
        ("test.ulg", _ulog_big, "big.ulg"),
        ("test_log_pilot_position.BIN", _dataflash_big, "big.bin"),
        ("nan.log", _text_big, "big.log"),
        ("vtol.tlog", _tlog_big, "big.tlog"),
    ]
    with tempfile.TemporaryDirectory(prefix="kanat-logs-") as tmp:
        for src, make, name in makers:
            if not (folder / src).exists():
                continue
            dst = Path(tmp) / name
            make(folder / src, dst, mb * 1_000_000)
            size = dst.stat().st_size / 1e6
            wall, rss = _measure(dst, "ours")
            line = (
                f"{name:10} {size:7.0f} MB  ours {wall:7.2f} s {size / wall:6.0f} MB/s "
                f"peak RSS {rss:6.0f} MB"
            )
            if with_reference:
                r_wall, r_rss = _measure(dst, "reference")
                line += (
                    f" | reference {r_wall:7.1f} s, peak RSS {r_rss:5.0f} MB"
                    f" | {r_wall / wall:5.0f}x"
                )
            print(line)
            dst.unlink()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--logs", type=Path, default=SHARED)
    parser.add_argument("--big", type=int, default=0, metavar="MB")
    parser.add_argument("--big-reference", action="store_true")
    args = parser.parse_args()
    small(args.logs)
    if args.big:
        print()
        big(args.logs, args.big, args.big_reference)


if __name__ == "__main__":
    main()
