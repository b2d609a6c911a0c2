"""The real log kept in the repository (tests/data/flightlogs): read, summarized and
compared with pyulog without ../shared."""

from __future__ import annotations

from pathlib import Path

import pytest

import kanat.flightlogs as fl
from kanat.flightlogs.flights import extract

LOG = Path(__file__).resolve().parents[1] / "data" / "flightlogs" / "14_19_29.ulg"


def test_the_repository_log_summarizes_as_its_readme_says():
    s = fl.summarize(LOG)
    assert s["format"] == "ulog" and s["start"] is None  # SITL: no GPS time
    assert s["duration_s"] == pytest.approx(57.6, abs=0.1)
    (flight,) = s["flights"]
    assert flight["takeoff_s"] == pytest.approx(44.9, abs=0.1)
    assert flight["landing_s"] == pytest.approx(53.6, abs=0.1)
    assert s["airborne_s"] == pytest.approx(8.68, abs=0.01)


def test_the_repository_log_agrees_with_pyulog():
    from pyulog import ULog

    ours = fl.read(LOG)
    ref = ULog(str(LOG))
    landed = ref.get_dataset("vehicle_land_detected").data
    t = landed["timestamp"].astype("int64")
    up = landed["landed"] == 0
    takeoff = int(t[up][0])
    landing = int(t[(t > takeoff) & ~up][0])
    (span,) = extract(ours).flights
    assert (span.takeoff, span.landing) == (takeoff, landing)
    assert ours.first_t == ref.start_timestamp and ours.last_t == ref.last_timestamp
