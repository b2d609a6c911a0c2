"""Real flight logs for the parser tests.

Logs under ../shared/data/flightlogs/ are read by tests marked ``shared_data``; outside CI
they are skipped when that folder is absent, in CI (``CI`` set) a missing folder fails.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from kanat.flightlogs.base import Series

SHARED_LOGS = Path(
    os.environ.get(
        "KANAT_SHARED_LOGS",
        Path(__file__).resolve().parents[2].parent / "shared" / "data" / "flightlogs",
    )
)


def shared_log(name: str) -> Path:
    path = SHARED_LOGS / name
    if not path.is_file():
        if os.environ.get("CI"):
            pytest.fail(f"{path} is missing: CI must have ../shared/data/flightlogs")
        pytest.skip(f"{path} not present (../shared is only on the CI machines)")
    return path


#: the series every reader fills (kanat.flightlogs.base.LogData)
SERIES = (
    "armed",
    "landed",
    "altitude",
    "climb",
    "speed",
    "accel",
    "temperature",
    "battery_v",
    "battery_a",
)


def check_series(s: Series) -> None:
    """The contract of a Series: int64 times, float64 values, as many, in time order."""
    assert s.t.dtype == np.int64 and s.v.dtype == np.float64
    assert len(s.t) == len(s.v)
    assert (np.diff(s.t) >= 0).all()
