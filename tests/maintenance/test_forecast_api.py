"""Forecast pages and endpoints: shapes, tenancy, explanations, query counts."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from kanat.bundles.importer import import_bundle
from tests import factories as f
from tests.maintenance.test_forecast_rules import BASE, bundle, flight, task

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_operators():
    doc = bundle(
        tasks=[task(interval={"FH": 100, "MO": 6}, tolerance={"FH": 5})],
        flights=[flight(f"2025-01-{d:02d}") for d in range(2, 14)],  # 120 FH: overdue
    )
    doc["operators"].append({"code": "OTHER", "name": "Other"})
    doc["aircraft"].append(dict(BASE["aircraft"][0], serial="B1", operator="OTHER"))
    import_bundle(json.dumps(doc).encode())


def client_for(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def test_forecast_endpoint_is_the_cli_json_restricted_to_the_caller(two_operators):
    from kanat.core.models import Operator

    other = client_for(f.user(operator=Operator.objects.get(code="OTHER")))
    response = other.get("/api/forecast/?as_of=2025-01-20T00:00:00Z")
    body = json.loads(b"".join(response.streaming_content))
    assert body["as_of"] == "2025-01-20T00:00:00Z"
    assert {i["aircraft"] for i in body["items"]} == {"B1"}
    assert body["aircraft_status"] == [{"aircraft": "B1", "status": "serviceable", "reasons": []}]
    hub = client_for(f.user(role="planner"))
    full = json.loads(
        b"".join(hub.get("/api/forecast/?as_of=2025-01-20T00:00:00Z").streaming_content)
    )
    assert [s["aircraft"] for s in full["aircraft_status"]] == ["A1", "B1"]
    assert full["aircraft_status"][0] == {"aircraft": "A1", "status": "grounded", "reasons": ["T1"]}


def test_aircraft_due_endpoint_explains_each_item(two_operators):
    from kanat.fleet.models import Aircraft

    a1 = Aircraft.objects.get(serial="A1")
    hub = client_for(f.user(role="planner"))
    body = hub.get(f"/api/aircraft/{a1.pk}/due/?as_of=2025-01-20T00:00:00Z").json()
    (item,) = body["items"]
    assert item["status"] == "overdue"
    text = " ".join(item["explanation"])
    assert "Rule: T1 revision 1" in text and "Never done" in text and "FH: due at 100.00" in text


def test_bad_parameters_are_clear_errors(two_operators):
    hub = client_for(f.user(role="planner"))
    r = hub.get("/api/forecast/?as_of=2025-01-20")
    assert r.status_code == 400 and "offset" in r.json()["as_of"]
    assert hub.get("/api/forecast/?horizon=-1").status_code == 400
    page = hub.get("/due/?horizon=lots").content.decode()
    assert "is not a horizon in days" in page


def test_due_pages_render_and_filter(two_operators):
    hub = client_for(f.user(role="planner"))
    page = hub.get("/due/?as_of=2025-01-20T00:00&status=overdue").content.decode()
    assert "T1" in page and "A1" in page and "1 aircraft grounded" in page
    assert "B1" not in page.split("<table")[1]
    planning = hub.get("/planning/?as_of=2025-01-20T00:00").content.decode()
    assert 'id="timeline"' in planning and "A1" in planning


def test_due_list_queries_do_not_grow_with_the_fleet(two_operators):
    hub = client_for(f.user(role="planner"))

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert hub.get("/due/?all=1").status_code == 200
        return len(ctx.captured_queries)

    small = count()
    doc = json.loads(json.dumps(BASE))
    doc["aircraft"] = [dict(BASE["aircraft"][0], serial=f"X{k}") for k in range(8)]
    doc["flights"] = [flight("2025-02-01", ac=f"X{k}") for k in range(8)]
    import_bundle(json.dumps(doc).encode())
    assert count() == small


def test_fast_json_writer_equals_the_plain_one_on_the_demo(monkeypatch):
    import datetime as dt

    from django.core.management import call_command

    from kanat.maintenance import forecasting
    from kanat.maintenance.jsonout import write_json

    call_command("demo")
    as_of = dt.datetime.now(dt.UTC)
    g = forecasting.gather(as_of=as_of, aircraft=None, parts_in_stores=True)
    r = forecasting.run_core(g, horizon=30)
    statuses = [
        {"aircraft": s.aircraft, "status": s.status, "reasons": s.reasons}
        for s in forecasting.aircraft_statuses(g, r)
    ]
    fast = json.loads("".join(write_json(g, r, statuses)))
    monkeypatch.setattr("kanat.maintenance.jsonout.CHUNK", 7)
    assert json.loads("".join(write_json(g, r, statuses))) == fast
    plain = forecasting.as_json(forecasting.forecast(as_of=as_of, defects=False))
    assert fast == plain
    assert len(fast["items"]) > 200
