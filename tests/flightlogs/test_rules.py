"""The flight rule, the findings and the CSV format on small hand-made series (no files
needed), and a fuzz test of the CSV reader and of format detection."""

from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import kanat.flightlogs as fl
from kanat.flightlogs import csvlog
from kanat.flightlogs.base import LogData, LogError, Series
from kanat.flightlogs.findings import G, Limits, check
from kanat.flightlogs.flights import FlightSpan, extract

S = 1_000_000


def steps(*pairs: tuple[float, float]) -> Series:
    return Series(
        np.array([round(t * S) for t, _ in pairs], dtype=np.int64),
        np.array([v for _, v in pairs], dtype=np.float64),
    )


def test_land_detector_runs_are_flights():
    log = LogData(
        "ulog",
        first_t=0,
        last_t=100 * S,
        landed=steps((0, 1), (10, 0), (20, 0), (30, 1), (40, 0), (50, 1)),
        armed=steps((0, 1)),
    )
    got = extract(log)
    assert got.rule == "land detector"
    assert got.flights == [FlightSpan(10 * S, 30 * S), FlightSpan(40 * S, 50 * S)]


def test_disarming_ends_a_flight_the_detector_never_ended():
    # ArduPilot: take-off event, then the crash check disarms with no landing event
    log = LogData(
        "dataflash-text",
        first_t=0,
        last_t=30 * S,
        landed=steps((23, 0)),
        armed=steps((0, 1), (4, 0), (4.5, 1), (29, 0)),
    )
    assert extract(log).flights == [FlightSpan(23 * S, 29 * S)]


def test_a_log_ending_in_the_air_lands_at_its_end_flagged():
    log = LogData("tlog", first_t=0, last_t=60 * S, landed=steps((0, 1), (5, 0)))
    (span,) = extract(log).flights
    assert (span.takeoff, span.landing, span.open_end) == (5 * S, 60 * S, True)


def test_a_log_starting_in_the_air_is_flagged():
    log = LogData("tlog", first_t=0, last_t=60 * S, landed=steps((0.5, 0), (40, 1)))
    (span,) = extract(log).flights
    assert (span.takeoff, span.landing, span.open_start) == (0, 40 * S, True)


def test_without_land_detector_altitude_inside_armed_intervals_decides():
    alt = steps((0, 0.0), (5, 0.2), (6, 3.0), (20, 15.0), (30, 0.3), (31, 0.1), (50, 0.1))
    log = LogData(
        "dataflash-text",
        first_t=0,
        last_t=60 * S,
        armed=steps((1, 1), (55, 0)),
        altitude=alt,
    )
    got = extract(log)
    assert got.rule == "armed + altitude"
    assert got.flights == [FlightSpan(5 * S, 30 * S)]
    # armed but never above CLIMB_M: a ground run, not a flight
    low = LogData("x", first_t=0, last_t=60 * S, armed=steps((1, 1)), altitude=steps((2, 1.0)))
    assert extract(low).flights == []


def test_findings_one_per_stretch_at_its_worst_sample():
    temp = steps((0, 20), (10, 56), (11, 58), (12, 50), (20, 60), (30, -60))
    log = LogData("x", first_t=0, last_t=40 * S, temperature=temp)
    found = check(log, [], Limits(oat_min_c=-54, oat_max_c=54))
    assert [(f.code, f.t, f.value, f.sample) for f in found] == [
        ("OAT_HIGH", 11 * S, 58.0, 2),
        ("OAT_HIGH", 20 * S, 60.0, 4),
        ("OAT_LOW", 30 * S, -60.0, 5),
    ]


def test_hard_landing_by_acceleration_or_confirmed_sink_rate():
    accel = Series(
        np.array([9 * S, 10 * S, 11 * S], dtype=np.int64),
        np.array([[0, 0, -G], [0, 0, -4 * G], [0, 0, -G]]),
    )
    flight = FlightSpan(0, 10 * S)
    log = LogData("x", first_t=0, last_t=20 * S, accel=accel)
    (hard,) = check(log, [flight], Limits(hard_landing_accel_ms2=3 * G))
    assert hard.code == "HARD_LANDING" and hard.t == 10 * S and hard.flight == 0
    # a sink rate the altitude does not confirm is not a hard landing
    climb = steps((9, -5), (10, 0))
    still = LogData("x", first_t=0, last_t=20 * S, climb=climb, altitude=steps((8, 0.0), (10, 0.0)))
    assert check(still, [flight], Limits(hard_landing_sink_ms=3)) == []
    fell = LogData("x", first_t=0, last_t=20 * S, climb=climb, altitude=steps((8, 6.0), (10, 0.0)))
    assert [f.code for f in check(fell, [flight], Limits(hard_landing_sink_ms=3))] == [
        "HARD_LANDING"
    ]


def test_limits_are_data_checked_by_name():
    assert Limits.from_mapping({"max_speed_ms": 60}).max_speed_ms == 60.0
    with pytest.raises(ValueError, match="unknown limit"):
        Limits.from_mapping({"max_sped": 60})
    with pytest.raises(ValueError, match="must be a number"):
        Limits.from_mapping({"max_speed_ms": "fast"})


def test_csv_errors_name_the_line_and_column(tmp_path: Path):
    cases = {
        "takeoff,landing\n2025-01-01T00:00:00Z,2025-01-01T01:00:00\n": "line 2, landing",
        "takeoff,landing,cycles\n2025-01-01T00:00:00Z,2025-01-01T01:00:00Z,x\n": "line 2, cycles",
        "takeoff,landing\n2025-01-01T02:00:00Z,2025-01-01T01:00:00Z\n": "not after takeoff",
        "takeoff\n2025-01-01T00:00:00Z\n": "no landing column",
        "takeoff,landing\n": "no flights",
        (
            "takeoff,landing\n2025-01-01T00:00:00Z,2025-01-01T02:00:00Z\n"
            "2025-01-01T01:00:00Z,2025-01-01T03:00:00Z\n"
        ): "line 3: this flight overlaps",
    }
    for text, message in cases.items():
        path = tmp_path / "f.csv"
        path.write_text(text)
        with pytest.raises(LogError, match=message):
            csvlog.read(path)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400), st.sampled_from([b"", b"takeoff,landing\n", b"ULog\x01\x12\x35"]))
def test_fuzz_detection_and_csv_never_crash(tmp_path_factory, blob: bytes, prefix: bytes):
    path = tmp_path_factory.mktemp("fuzz") / "f"
    path.write_bytes(prefix + blob)
    with contextlib.suppress(LogError):
        fl.summarize(path)


def test_a_first_take_off_event_late_in_the_log_is_a_take_off_not_an_open_start():
    log = LogData("dataflash-text", first_t=0, last_t=500 * S, landed=steps((100, 0), (400, 1)))
    assert extract(log).flights == [FlightSpan(100 * S, 400 * S)]
    armed = LogData("x", first_t=0, last_t=500 * S, armed=steps((100, 1), (400, 0)))
    (span,) = extract(armed).flights
    assert (span.takeoff, span.landing, span.open_start) == (100 * S, 400 * S, False)


def test_a_take_off_at_the_last_instant_is_no_flight():
    log = LogData("x", first_t=0, last_t=60 * S, landed=steps((0, 1), (60, 0)))
    assert extract(log).flights == []
