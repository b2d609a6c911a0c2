"""Real flight logs for the parser tests.

Logs under ../shared/data/flightlogs/ are read by tests marked ``shared_data``; outside CI
they are skipped when that folder is absent, in CI (``CI`` set) a missing folder fails.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

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
