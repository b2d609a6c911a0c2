"""`kanat forecast` as people and scripts use it."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from kanat.bundles.importer import import_bundle
from tests.maintenance.test_forecast_rules import bundle, flight, task

pytestmark = pytest.mark.django_db


@pytest.fixture
def fleet():
    doc = bundle(
        tasks=[task(interval={"FH": 100, "MO": 6}, tolerance={"FH": 5})],
        flights=[flight(f"2025-01-{d:02d}") for d in range(2, 14)],
    )
    import_bundle(json.dumps(doc).encode())


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("forecast", *args, stdout=out)
    return out.getvalue()


def test_table_for_people(fleet):
    text = run("--as-of", "2025-01-20T00:00:00Z")
    lines = text.splitlines()
    assert lines[0] == "Forecast as of 2025-01-20 00:00Z, horizon 30 days"
    assert lines[2].split()[:3] == ["STATUS", "DUE", "DATE"]
    assert lines[3].startswith("overdue") and "A1" in lines[3] and "FH -20.0" in lines[3]
    assert lines[-1] == "A1: grounded (T1)"


def test_clear_errors():
    with pytest.raises(CommandError, match="no offset"):
        run("--as-of", "2025-01-20T00:00:00")
    with pytest.raises(CommandError, match="not an ISO 8601"):
        run("--as-of", "yesterday")
    with pytest.raises(CommandError, match="unknown aircraft"):
        run("--as-of", "2025-01-20T00:00:00Z", "--aircraft", "NOPE")


def test_json_aircraft_filter(fleet):
    body = json.loads(
        run("--as-of", "2025-01-20T00:00:00Z", "--aircraft", "A1", "--format", "json")
    )
    assert [s["aircraft"] for s in body["aircraft_status"]] == ["A1"]
    assert body["items"][0]["status"] == "overdue"


@pytest.mark.django_db(transaction=True)
def test_reads_on_connections_of_their_own_outside_a_transaction():
    """Outside a transaction the compliance reads run in threads (own connections)."""
    doc = bundle(
        tasks=[task(interval={"FH": 100}, schedule_from="last_due", tolerance={"FH": 10})],
        flights=[flight(f"2025-01-{d:02d}") for d in range(2, 14)],
        compliance=[
            {
                "task": "T1",
                "aircraft": "A1",
                "done_at": "2025-01-12T12:00:00Z",
                "counters": {"FH": 104.0},
            }
        ],
    )
    import_bundle(json.dumps(doc).encode())
    body = json.loads(run("--as-of", "2025-01-20T00:00:00Z", "--format", "json"))
    assert body["items"][0]["due"] == {"FH": 200}  # 104 within 100 +- 10: schedule kept


def test_output_does_not_depend_on_the_chunk_size(fleet, monkeypatch):
    args = ("--as-of", "2025-01-20T00:00:00Z")
    table, data = run(*args), run(*args, "--format", "json")
    monkeypatch.setattr("kanat.maintenance.tableout.CHUNK", 1)
    monkeypatch.setattr("kanat.maintenance.jsonout.CHUNK", 1)
    assert run(*args) == table
    assert json.loads(run(*args, "--format", "json")) == json.loads(data)
