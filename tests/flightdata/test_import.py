"""Importing flight logs: flights, counters, forecast, findings and raised items; all or
nothing; the same content twice is a no-op; overlaps and bad files are refused."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from kanat.core.errors import Conflict, RuleViolation
from kanat.fleet import selectors
from kanat.fleet import services as fleet_services
from kanat.fleet.models import Flight
from kanat.flightdata.models import Finding, FlightLog
from kanat.flightdata.services import import_flight_log
from kanat.maintenance import forecasting
from kanat.maintenance import services as mx
from kanat.maintenance.models import RaisedItem, Task
from tests import factories as f
from tests.flightlogs.conftest import shared_log

pytestmark = pytest.mark.django_db

CSV = """# two flights
takeoff,landing,cycles
2025-03-01T08:00:00Z,2025-03-01T10:30:00Z,1
2025-03-02T08:00:00+05:00,2025-03-02T09:00:00+05:00,3
"""


def csv_file(tmp_path: Path, text: str = CSV, name: str = "flights.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def fitted_aircraft():
    pn = f.part_number()
    ac = f.aircraft(variant_=f.variant(positions={"ENG": [pn]}))
    part = f.part(pn=pn)
    f.install(part, ac, f.utc(2024, 1, 1))
    return ac, part


def test_a_csv_log_moves_aircraft_and_part_counters_and_the_forecast(tmp_path):
    ac, part = fitted_aircraft()
    mx.define_task(
        actor=None,
        code="72-00-01",
        title="Engine borescope",
        ata="72-00",
        kind="repeat",
        variants=[ac.variant],
        interval={"FH": 3},
    )
    as_of = f.utc(2025, 3, 5)
    before = forecasting.forecast(as_of=as_of, aircraft=None)
    log, created = import_flight_log(actor=None, aircraft=ac, path=csv_file(tmp_path))
    assert created and log.format == "csv" and log.flight_rule == "stated"
    flights = list(log.flights().order_by("takeoff"))
    assert [(x.takeoff, x.landing, x.cycles, x.source) for x in flights] == [
        (f.utc(2025, 3, 1, 8), f.utc(2025, 3, 1, 10, 30), 1, "log"),
        (f.utc(2025, 3, 2, 3), f.utc(2025, 3, 2, 4), 3, "log"),
    ]
    counters = selectors.aircraft_counters([ac], as_of)[ac.pk]
    assert (counters.fh, counters.fc) == (3.5, 4)
    p = selectors.part_counters([part], as_of)[part.pk]
    assert (p.fh, p.fc) == (3.5, 4)
    after = forecasting.forecast(as_of=as_of, aircraft=None)
    (row_before,) = before.rows
    (row_after,) = after.rows
    assert row_before.status == "ok" and row_after.status == "overdue"  # no tolerance
    assert row_after.remaining == {"FH": -0.5}


def test_the_same_content_again_changes_nothing_whatever_its_name(tmp_path):
    ac, _ = fitted_aircraft()
    first, created = import_flight_log(actor=None, aircraft=ac, path=csv_file(tmp_path))
    again, created_again = import_flight_log(
        actor=None, aircraft=ac, path=csv_file(tmp_path, name="renamed.log")
    )
    assert created and not created_again and again.pk == first.pk
    assert FlightLog.objects.count() == 1 and Flight.objects.count() == 2
    sibling = f.aircraft(operator_=ac.operator, variant_=ac.variant)
    with pytest.raises(Conflict, match=f"already imported for {ac.serial}"):
        import_flight_log(actor=None, aircraft=sibling, path=csv_file(tmp_path))
    # another operator's copy of the file is its own record: nothing of ours is disclosed
    stranger, created = import_flight_log(
        actor=None, aircraft=f.aircraft(), path=csv_file(tmp_path)
    )
    assert created and stranger.pk != first.pk


def test_flights_in_the_future_are_refused_whatever_their_source(tmp_path):
    ac, _ = fitted_aircraft()
    path = csv_file(tmp_path, "takeoff,landing\n2052-01-01T00:00:00Z,2052-01-01T01:00:00Z\n")
    with pytest.raises(RuleViolation, match="in the future"):
        import_flight_log(actor=None, aircraft=ac, path=path)
    assert FlightLog.objects.count() == 0


def test_flights_overlapping_recorded_ones_are_refused_and_nothing_is_written(tmp_path):
    ac, _ = fitted_aircraft()
    f.flight(ac, f.utc(2025, 3, 1, 9), 0.5)  # inside the first flight of the log
    with pytest.raises(Conflict, match="overlaps") as exc:
        import_flight_log(actor=None, aircraft=ac, path=csv_file(tmp_path))
    assert "flights.csv" in exc.value.message
    assert FlightLog.objects.count() == 0 and Flight.objects.count() == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"PK\x03\x04" + bytes(200), "zip archive"),
        (b"\x1f\x8b\x08" + bytes(200), "gzip"),
        (b"hello, world\n", "text starting 'hello, world'"),
        (b"takeoff,landing\n2025-01-01T00:00:00,2025-01-01T01:00:00Z\n", "line 2, takeoff"),
        (b"ULog\x01\x12\x35\x01" + bytes(3), "ULog"),
    ],
)
def test_a_bad_file_is_refused_with_what_it_looks_like(tmp_path, content, message):
    ac, _ = fitted_aircraft()
    path = tmp_path / "upload.bin"
    path.write_bytes(content)
    with pytest.raises(RuleViolation, match=message):
        import_flight_log(actor=None, aircraft=ac, path=path)
    assert FlightLog.objects.count() == 0 and Flight.objects.count() == 0


def test_summarize_cli_prints_one_object_per_file_and_touches_nothing(tmp_path, capsys):
    path = csv_file(tmp_path)
    call_command("flightlog", "summarize", str(path))
    one = json.loads(capsys.readouterr().out)
    assert one["format"] == "csv" and one["airborne_s"] == 3.5 * 3600 and one["cycles"] == 4
    assert [x["airborne_s"] for x in one["flights"]] == [9000.0, 3600.0]
    assert one["flights"][0]["takeoff"] == "2025-03-01T08:00:00Z"
    assert one["max_accel_ms2"] is None and one["findings"] == []
    call_command("flightlog", "summarize", str(path), str(path))
    assert len(json.loads(capsys.readouterr().out)) == 2
    bad = tmp_path / "bad.txt"
    bad.write_text("nothing to see")
    with pytest.raises(CommandError, match="bad.txt: this file looks like text"):
        call_command("flightlog", "summarize", str(bad))
    assert FlightLog.objects.count() == 0


def test_import_cli(tmp_path, capsys):
    ac, _ = fitted_aircraft()
    path = csv_file(tmp_path)
    call_command("flightlog", "import", str(path), "--aircraft", ac.serial)
    assert "2 flight(s)" in capsys.readouterr().out
    call_command("flightlog", "import", str(path), "--aircraft", ac.serial)
    assert "nothing changed" in capsys.readouterr().out
    with pytest.raises(CommandError, match="unknown aircraft"):
        call_command("flightlog", "import", str(path), "--aircraft", "NOPE")


def test_upload_api_and_pages_are_scoped_to_the_operator(tmp_path):
    ac, _ = fitted_aircraft()
    owner = f.user(operator=ac.operator)
    stranger = f.user(operator=f.operator())
    c = Client()
    c.force_login(owner)
    with csv_file(tmp_path).open("rb") as fh:
        r = c.post("/api/flight-logs/", {"aircraft": ac.pk, "file": fh})
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["aircraft_serial"] == ac.serial and len(body["flights"]) == 2
    with csv_file(tmp_path).open("rb") as fh:
        assert c.post("/api/flight-logs/", {"aircraft": ac.pk, "file": fh}).status_code == 200
    assert c.get(f"/logs/{body['id']}/").status_code == 200
    assert c.get("/logs/upload/").status_code == 200
    other = Client()
    other.force_login(stranger)
    assert other.get(f"/api/flight-logs/{body['id']}/").status_code == 404
    assert other.get(f"/logs/{body['id']}/").status_code == 404
    assert other.get("/api/flight-logs/").json()["results"] == []
    with csv_file(tmp_path, name="x.csv").open("rb") as fh:
        r = other.post("/api/flight-logs/", {"aircraft": ac.pk, "file": fh})
    assert r.status_code == 400 and "aircraft" in r.json()


def test_upload_page_reports_the_error_and_imports_nothing(tmp_path):
    ac, _ = fitted_aircraft()
    c = Client()
    c.force_login(f.user(operator=ac.operator))
    bad = tmp_path / "bad.ulg"
    bad.write_bytes(b"\x00" * 64)
    with bad.open("rb") as fh:
        r = c.post("/logs/upload/", {"aircraft": ac.pk, "file": fh})
    assert r.status_code == 200 and "binary data starting 00 00" in r.content.decode()
    with bad.open("rb") as fh:
        r = c.post("/logs/upload/", {"aircraft": ac.pk, "file": fh}, HTTP_ACCEPT="application/json")
    assert r.status_code == 400 and "we read" in r.json()["error"]
    assert FlightLog.objects.count() == 0


@pytest.mark.shared_data
def test_a_hard_landing_raises_an_inspection_due_that_day_until_done(tmp_path):
    ac, _ = fitted_aircraft()
    fleet_services.set_type_limits(
        actor=None,
        aircraft_type=ac.variant.aircraft_type,
        limits={"hard_landing_accel_ms2": 25.0, "oat_min_c": -54, "oat_max_c": 54},
        finding_tasks={"HARD_LANDING": "05-51-01"},
    )
    mx.define_task(
        actor=None,
        code="05-51-01",
        title="Hard landing inspection",
        ata="05-51",
        kind="once",
        threshold={"DY": 0},
        tolerance={"DY": 1},
    )
    path = tmp_path / "renamed.bin"
    shutil.copy(shared_log("test.ulg"), path)
    log, _ = import_flight_log(actor=None, aircraft=ac, path=path)
    assert log.summary["max_accel_ms2"] == pytest.approx(108.48, abs=0.01)
    assert len(log.summary["flights"]) == 2 and log.flights().count() == 2
    hard = list(Finding.objects.filter(code="HARD_LANDING"))
    assert hard and all(x.flight is not None and x.raised is not None for x in hard)
    item = RaisedItem.objects.get()  # one inspection for the log, however many touchdowns
    assert {x.raised_id for x in hard} == {item.pk}
    day = item.due_by
    assert item.task.code == "05-51-01" and day == dt.date(2023, 10, 31)

    def status(as_of: dt.datetime) -> tuple[str, str]:
        fc = forecasting.forecast(as_of=as_of, aircraft=None)
        (row,) = [r for r in fc.rows if r.task_code == "05-51-01"] or [None]
        ac_status = fc.aircraft_status[0].status
        return (row.status if row else "closed"), ac_status

    assert status(f.utc(2023, 10, 31, 12)) == ("due_soon", "serviceable")
    assert status(f.utc(2023, 11, 1, 12)) == ("in_tolerance", "serviceable")
    assert status(f.utc(2023, 11, 3)) == ("overdue", "grounded")
    mx.record_compliance(
        actor=None, task=Task.objects.get(code="05-51-01"), aircraft=ac, done_at=f.utc(2023, 11, 2)
    )
    assert status(f.utc(2023, 11, 3)) == ("closed", "serviceable")
    page = Client()
    page.force_login(f.user(operator=ac.operator))
    html = page.get(f"/logs/{log.pk}/").content.decode()
    assert "<svg" in html and "HARD_LANDING" in html and 'class="finding"' in html


def test_the_log_list_api_reads_a_page_in_a_fixed_number_of_queries(tmp_path):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    ac, _ = fitted_aircraft()
    c = Client()
    c.force_login(f.user(operator=ac.operator))

    def list_queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert c.get("/api/flight-logs/").status_code == 200
        return len(ctx.captured_queries)

    for day in range(1, 4):
        import_flight_log(
            actor=None,
            aircraft=ac,
            path=csv_file(
                tmp_path,
                f"takeoff,landing\n2025-04-0{day}T08:00:00Z,2025-04-0{day}T09:00:00Z\n",
                name=f"d{day}.csv",
            ),
        )
        if day == 1:
            one = list_queries()
    assert list_queries() == one
    body = c.get("/api/flight-logs/").json()
    assert [len(x["flights"]) for x in body["results"]] == [1, 1, 1]
