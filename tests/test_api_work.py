"""Maintenance execution under /api/: packages, cards, steps, sign-offs, defects, release.
Writes go through kanat.work.services; errors name the field; tenancy hides the rest."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.authtoken.models import Token

from kanat.core.models import User
from kanat.maintenance.models import Compliance
from kanat.records import chain
from kanat.work import services as work
from kanat.work.models import Defect, SignOff, StepKind, TaskCard
from tests import factories as f
from tests.work.scenario import Hangar, hangar

pytestmark = pytest.mark.django_db

JSON = "application/json"


def session(user: User) -> Client:
    c = Client()
    c.force_login(user)
    return c


def token(user: User) -> Client:
    key = Token.objects.create(user=user).key
    return Client(HTTP_AUTHORIZATION=f"Token {key}")


def post(client: Client, url: str, body: dict[str, Any] | None = None) -> Any:
    return client.post(url, body or {}, content_type=JSON)


def create_package(h: Hangar, *keys: str, part_task: bool = False, **extra: Any) -> Any:
    items: list[dict[str, Any]] = [{"task": h.tasks[k].code} for k in keys]
    if part_task:
        items.append({"task": h.tasks["ENG-LL"].code, "part": h.engine.pk})
    body = {"aircraft": h.aircraft.pk, "title": "A-check", "items": items, **extra}
    return post(session(h.planner), "/api/work-packages/", body)


def opened(h: Hangar, *keys: str, **kw: Any) -> dict[str, Any]:
    r = create_package(h, *keys, **kw)
    assert r.status_code == 201, r.content
    r = post(session(h.planner), f"/api/work-packages/{r.json()['id']}/open/")
    assert r.status_code == 200, r.content
    return r.json()


def card_of(package: dict[str, Any], h: Hangar, key: str) -> dict[str, Any]:
    code = h.tasks[key].code
    return next(c for c in package["cards"] if c["task"] == code)


def sign_steps(client: Client, card_id: int, *, value: float = 1.2, part: int | None = None):
    detail = client.get(f"/api/task-cards/{card_id}/").json()
    for step in detail["steps"]:
        body: dict[str, Any] = {}
        if step["kind"] == StepKind.MEASURE:
            body["value"] = value
        if step["kind"] == StepKind.REMOVE:
            body["removal_reason"] = "scheduled"
        if step["kind"] == StepKind.INSTALL:
            body["part"] = part
        r = post(client, f"/api/task-steps/{step['id']}/sign/", body)
        assert r.status_code == 201, r.content


def test_create_open_sign_inspect_release_through_the_api():
    h = hangar()
    r = create_package(
        h, "GVI", "PROP", part_task=True, planned_start="2026-01-05", planned_end="2026-01-07"
    )
    assert r.status_code == 201, r.content
    pkg = r.json()
    assert pkg["status"] == "draft" and pkg["number"].startswith("WP-")
    assert pkg["aircraft_serial"] == h.aircraft.serial and pkg["created_by"] == h.planner.username
    assert [c["seq"] for c in pkg["cards"]] == [1, 2, 3] and pkg["cards_total"] == 3
    assert pkg["release"] is None
    assert card_of(pkg, h, "ENG-LL")["part_label"] == str(h.engine)
    assert card_of(pkg, h, "GVI")["part_label"] is None

    tech = token(h.tech)  # token auth for the technician, session for the others
    prop = card_of(pkg, h, "PROP")
    detail = tech.get(f"/api/task-cards/{prop['id']}/").json()
    assert detail["critical"] and detail["tools"] == ["Torque wrench 5-25 Nm", "Tracking stick"]
    assert detail["parts_required"] == [{"pn": "MS21042-3", "qty": 6}]
    assert detail["references"] == ["AMM 61-10-00"]
    measure = detail["steps"][1]
    assert measure["kind"] == "measure" and measure["limits"] == "0 to 2.5 mm"
    assert (measure["measure_min"], measure["measure_max"], measure["measure_unit"]) == (
        0,
        2.5,
        "mm",
    )

    # a draft is not signed on
    r = post(tech, f"/api/task-steps/{measure['id']}/sign/", {"value": 1.0})
    assert r.status_code == 400 and r.json()["field"] == "package" and "draft" in r.json()["detail"]
    r = post(session(h.planner), f"/api/work-packages/{pkg['id']}/open/")
    assert r.status_code == 200 and r.json()["status"] == "open"

    for key in ("GVI", "PROP"):
        card = card_of(pkg, h, key)
        sign_steps(tech, card["id"])
        r = post(tech, f"/api/task-cards/{card['id']}/sign/", {"remark": "done"})
        assert r.status_code == 201 and r.json()["kind"] == "card", r.content
    life = card_of(pkg, h, "ENG-LL")
    sign_steps(tech, life["id"], part=h.spare.pk)
    assert post(tech, f"/api/task-cards/{life['id']}/sign/").status_code == 201

    detail = tech.get(f"/api/task-cards/{prop['id']}/").json()
    assert detail["status"] == "signed"  # critical: awaits its inspection
    signed = detail["steps"][1]["signoffs"]
    assert len(signed) == 1 and signed[0]["signer"] == h.tech.username
    assert signed[0]["value"] == 1.2 and signed[0]["within_limits"] is True
    assert signed[0]["qualification_ref"].startswith("CA-")
    assert [s["kind"] for s in detail["signoffs"]] == ["card"]

    certifier = session(h.certifier)
    r = post(certifier, f"/api/work-packages/{pkg['id']}/release/")
    assert r.status_code == 400 and r.json()["field"] == "cards"
    assert "not completed" in r.json()["detail"]

    r = post(session(h.inspector), f"/api/task-cards/{prop['id']}/inspect/")
    assert r.status_code == 201 and r.json()["kind"] == "inspection"
    assert r.json()["signer"] == h.inspector.username
    body = certifier.get(f"/api/work-packages/{pkg['id']}/").json()
    assert body["status"] == "completed" and body["cards_done"] == 3

    r = post(certifier, f"/api/work-packages/{pkg['id']}/release/", {"statement": "Released"})
    assert r.status_code == 201, r.content
    release = r.json()
    assert release["signer"] == h.certifier.username and release["statement"] == "Released"
    assert len(release["compliances"]) == 3
    assert Compliance.objects.filter(reference__startswith=pkg["number"]).count() == 3
    body = certifier.get(f"/api/work-packages/{pkg['id']}/").json()
    assert body["status"] == "released" and body["release"]["id"] == release["id"]
    again = post(certifier, f"/api/work-packages/{pkg['id']}/release/")
    assert again.status_code == 409 and "already released" in again.json()["detail"]

    signoffs = tech.get(f"/api/sign-offs/?card={prop['id']}").json()
    assert signoffs["count"] == 5
    assert {s["kind"] for s in signoffs["results"]} == {"step", "card", "inspection"}
    kinds = tech.get(f"/api/sign-offs/?card={prop['id']}&kind=inspection").json()["results"]
    assert [s["signer"] for s in kinds] == [h.inspector.username]
    assert (
        tech.get(f"/api/work-packages/?status=released&aircraft={h.aircraft.pk}").json()["count"]
        == 1
    )
    assert chain.verify() == []


def test_errors_name_the_field():
    h = hangar()
    planner = session(h.planner)
    r = post(planner, "/api/work-packages/", {"aircraft": h.aircraft.pk, "items": []})
    assert r.status_code == 400 and "title" in r.json()
    r = create_package(h, "GVI", planned_start="2026-02-01", planned_end="2026-01-01")
    assert r.status_code == 400 and r.json()["field"] == "planned_end"
    r = post(
        planner,
        "/api/work-packages/",
        {"aircraft": h.aircraft.pk, "title": "x", "items": [{"task": "NO-SUCH-TASK"}]},
    )
    assert r.status_code == 400 and "task" in r.json()["items"]["0"]
    r = post(
        planner,
        "/api/work-packages/",
        {"aircraft": h.aircraft.pk, "title": "x", "items": [{"task": h.tasks["ENG-LL"].code}]},
    )
    assert r.status_code == 400 and r.json()["field"] == "part" and "name the part" in r.text

    pkg = opened(h, "PROP")
    card = pkg["cards"][0]
    r = post(planner, f"/api/work-packages/{pkg['id']}/open/")
    assert r.status_code == 409 and r.json()["field"] == "status"
    r = post(planner, f"/api/work-packages/{pkg['id']}/add-cards/", {"items": []})
    assert r.status_code == 400 and r.json()["field"] == "items"
    r = post(planner, f"/api/work-packages/{pkg['id']}/add-cards/", {"items": [{"task": "PROP"}]})
    assert r.status_code == 400 and "task" in r.json()["items"]["0"]
    r = post(
        planner,
        f"/api/work-packages/{pkg['id']}/add-cards/",
        {"items": [{"task": h.tasks["PROP"].code}]},
    )
    assert r.status_code == 409 and r.json()["field"] == "items" and "already on card" in r.text
    r = post(
        planner,
        f"/api/work-packages/{pkg['id']}/add-cards/",
        {"items": [{"task": h.tasks["GVI"].code}]},
    )
    assert r.status_code == 200 and [c["seq"] for c in r.json()["cards"]] == [1, 2]

    tech = session(h.tech)
    steps = tech.get(f"/api/task-cards/{card['id']}/").json()["steps"]
    measure = next(s for s in steps if s["kind"] == "measure")
    r = post(tech, f"/api/task-steps/{measure['id']}/sign/")
    assert r.status_code == 400 and r.json()["field"] == "value"
    r = post(tech, f"/api/task-steps/{steps[0]['id']}/sign/", {"value": 2})
    assert r.status_code == 400 and r.json()["field"] == "value"
    r = post(tech, f"/api/task-steps/{measure['id']}/sign/", {"value": "lots"})
    assert r.status_code == 400 and "value" in r.json()
    r = post(tech, f"/api/task-cards/{card['id']}/sign/")
    assert r.status_code == 400 and r.json()["field"] == "steps" and "not signed yet" in r.text


def test_double_signing_is_409_and_a_correction_names_its_reason():
    h = hangar()
    pkg = opened(h, "PROP")
    tech = session(h.tech)
    steps = tech.get(f"/api/task-cards/{pkg['cards'][0]['id']}/").json()["steps"]
    measure = next(s for s in steps if s["kind"] == "measure")
    url = f"/api/task-steps/{measure['id']}/sign/"
    first = post(tech, url, {"value": 1.0})
    assert first.status_code == 201
    r = post(session(h.tech2), url, {"value": 1.1})
    assert r.status_code == 409 and r.json()["field"] == "signature"
    assert f"already signed by {h.tech.username}" in r.json()["detail"]
    r = post(tech, url, {"value": 1.2, "corrects": first.json()["id"]})
    assert r.status_code == 400 and r.json()["field"] == "correction_reason"
    fixed = post(
        tech,
        url,
        {"value": 1.2, "corrects": first.json()["id"], "correction_reason": "misread scale"},
    )
    assert fixed.status_code == 201 and fixed.json()["corrects"] == first.json()["id"]
    listed = tech.get(f"/api/sign-offs/?step={measure['id']}").json()["results"]
    by_id = {s["id"]: s for s in listed}
    assert by_id[first.json()["id"]]["corrected_by"] == fixed.json()["id"]
    assert by_id[first.json()["id"]]["standing"] is False
    standing = tech.get(f"/api/sign-offs/?step={measure['id']}&standing=true").json()
    assert [s["id"] for s in standing["results"]] == [fixed.json()["id"]]
    step = tech.get(f"/api/task-steps/{measure['id']}/").json()
    assert [s["value"] for s in step["signoffs"]] == [1.2]


def test_signing_without_authority_is_refused_with_the_reason():
    h = hangar()
    pkg = opened(h, "PROP")
    card_id = pkg["cards"][0]["id"]
    sign_steps(session(h.inspector), card_id)
    assert post(session(h.tech), f"/api/task-cards/{card_id}/sign/").status_code == 201
    r = post(session(h.tech2), f"/api/task-cards/{card_id}/inspect/")
    assert r.status_code == 403
    assert "holds no authorisation to sign: independent inspection" in r.json()["detail"]
    r = post(session(h.inspector), f"/api/task-cards/{card_id}/inspect/")
    assert r.status_code == 400 and r.json()["field"] == "signer"
    assert "different person" in r.json()["detail"]
    # the role: a planner plans, an operator's viewer reads
    r = post(session(h.planner), f"/api/task-cards/{card_id}/inspect/")
    assert r.status_code == 403 and "may not" in r.json()["detail"]
    viewer = f.user(operator=h.operator, role="operator_viewer")
    r = post(session(viewer), f"/api/task-cards/{card_id}/inspect/")
    assert r.status_code == 403 and "may not" in r.json()["detail"]
    assert not SignOff.objects.filter(kind="inspection").exists()


def test_expired_qualification_is_refused_with_the_reason():
    h = hangar(expires_on=dt.date(2025, 6, 30))
    pkg = opened(h, "GVI")
    step_id = TaskCard.objects.get(pk=pkg["cards"][0]["id"]).steps.get().pk
    r = post(token(h.tech), f"/api/task-steps/{step_id}/sign/")
    assert r.status_code == 403 and "expired: valid through 2025-06-30" in r.json()["detail"]
    assert not SignOff.objects.exists()


def test_out_of_limit_measurement_raises_a_defect_shown_on_the_step():
    h = hangar()
    pkg = opened(h, "PROP")
    tech = session(h.tech)
    card_id = pkg["cards"][0]["id"]
    sign_steps(tech, card_id, value=3.1)
    step = tech.get(f"/api/task-cards/{card_id}/").json()["steps"][1]
    assert step["signoffs"][0]["within_limits"] is False
    number = Defect.objects.get(aircraft=h.aircraft).number
    assert step["defects"] == [number]
    found = tech.get(f"/api/defects/?aircraft={h.aircraft.pk}&source=measurement").json()
    assert [d["number"] for d in found["results"]] == [number]
    assert found["results"][0]["step"] == step["id"]


def test_defects_raise_defer_and_clock():
    h = hangar()
    tech = session(h.tech)
    found = (timezone.now() - dt.timedelta(hours=2)).isoformat()
    r = post(
        tech,
        "/api/defects/",
        {
            "aircraft": h.aircraft.pk,
            "ata": "32-10",
            "description": "Nose gear shimmy",
            "source": "crew",
            "found_at": found,
            "source_ref": "tech log 17",
        },
    )
    assert r.status_code == 201, r.content
    d = r.json()
    assert d["status"] == "open" and d["grounds"] is True and d["seconds_left"] is None
    assert d["raised_by"] == h.tech.username and d["deferrals"] == [] and d["closure"] is None

    certifier = session(h.certifier)
    url = f"/api/defects/{d['id']}/defer/"
    r = post(certifier, url, {"category": "A", "mel_item": "32-1", "reason": "ok"})
    assert r.status_code == 400 and r.json()["field"] == "deadline"
    body = {"category": "B", "mel_item": "32-1", "reason": "ok", "deadline": found}
    r = post(certifier, url, body)
    assert r.status_code == 400 and r.json()["field"] == "deadline"
    r = post(certifier, url, {"category": "E", "mel_item": "32-1", "reason": "ok"})
    assert r.status_code == 400 and "category" in r.json()
    r = post(certifier, url, {"category": "C", "mel_item": " ", "reason": "ok"})
    assert r.status_code == 400 and "mel_item" in r.json()
    r = post(session(h.tech2), url, {"category": "C", "mel_item": "32-1", "reason": "ok"})
    assert r.status_code == 403 and "release" in r.json()["detail"]  # no release privilege
    r = post(certifier, url, {"category": "C", "mel_item": "32-1", "reason": "within MEL"})
    assert r.status_code == 201, r.content
    assert r.json()["category"] == "C" and r.json()["in_force"] is True

    d = tech.get(f"/api/defects/{d['id']}/").json()
    assert d["status"] == "deferred" and d["expired"] is False and d["grounds"] is False
    assert 9 * 86400 < d["seconds_left"] <= 11 * 86400
    assert [x["mel_item"] for x in d["deferrals"]] == ["32-1"]
    assert d["deferrals"][0]["signer"] == h.certifier.username

    # a deferral that has run out: expired, grounding, and found by ?expired=true
    old = work.raise_defect(
        actor=h.tech,
        aircraft=h.aircraft,
        ata="33",
        description="Nav light inoperative",
        source="inspection",
        found_at=timezone.now() - dt.timedelta(days=8),
    )
    work.defer_defect(
        actor=h.certifier,
        defect=old,
        category="B",
        mel_item="33-1",
        reason="spares",
        at=timezone.now() - dt.timedelta(days=7),
    )
    expired = tech.get("/api/defects/?expired=true").json()["results"]
    assert [x["number"] for x in expired] == [old.number]
    assert expired[0]["expired"] is True and expired[0]["seconds_left"] < 0
    assert expired[0]["grounds"] is True
    assert [x["number"] for x in tech.get("/api/defects/?expired=false").json()["results"]] == [
        d["number"]
    ]
    assert tech.get("/api/defects/?ata=32").json()["count"] == 1
    assert tech.get("/api/defects/?ata=33").json()["count"] == 1
    assert tech.get("/api/defects/?status=deferred").json()["count"] == 2


def test_a_defect_card_closes_the_defect():
    h = hangar()
    d = work.raise_defect(
        actor=h.tech, aircraft=h.aircraft, ata="32", description="Shimmy", source="crew"
    )
    r = post(
        session(h.planner),
        "/api/work-packages/",
        {"aircraft": h.aircraft.pk, "title": "Rectification", "defects": [d.pk]},
    )
    assert r.status_code == 201, r.content
    card = r.json()["cards"][0]
    assert card["defect"] == d.pk and card["defect_number"] == d.number and card["task"] is None
    assert post(session(h.planner), f"/api/work-packages/{r.json()['id']}/open/").status_code == 200
    tech = session(h.tech)
    sign_steps(tech, card["id"])
    assert post(tech, f"/api/task-cards/{card['id']}/sign/").status_code == 201
    body = tech.get(f"/api/defects/{d.pk}/").json()
    assert body["status"] == "open" and body["grounds"]  # until the release certifies it
    release = post(session(h.certifier), f"/api/work-packages/{r.json()['id']}/release/")
    assert release.status_code == 201, release.content
    body = tech.get(f"/api/defects/{d.pk}/").json()
    assert body["status"] == "closed" and body["cards"] == [card["id"]]
    assert body["closure"]["card"] == card["id"]
    assert body["closure"]["signer"] == h.certifier.username


def test_another_operators_objects_are_404_and_invisible():
    mine, theirs = hangar(), hangar()
    for h in (mine, theirs):
        pkg = opened(h, "PROP")
        sign_steps(session(h.tech), pkg["cards"][0]["id"])
        work.raise_defect(
            actor=h.tech, aircraft=h.aircraft, ata="32", description="Shimmy", source="crew"
        )
    other = theirs.aircraft
    pkg = other.packages.get()
    card = pkg.cards.get()
    step = card.steps.first()
    defect = other.defects.get()
    signoff = SignOff.objects.filter(card=card).first()

    fm = f.user(operator=mine.operator, role="operator_fleet_manager")
    c = session(fm)
    for url in ("/api/work-packages/", "/api/task-cards/", "/api/defects/", "/api/sign-offs/"):
        body = c.get(url).json()
        assert body["count"] > 0, url
        assert other.serial not in str(body) and pkg.number not in str(body), url
    assert c.get(f"/api/work-packages/?operator={theirs.operator.code}").json()["count"] == 0
    for url in (
        f"/api/work-packages/{pkg.pk}/",
        f"/api/task-cards/{card.pk}/",
        f"/api/task-steps/{step.pk}/",
        f"/api/defects/{defect.pk}/",
        f"/api/sign-offs/{signoff.pk}/",
    ):
        assert c.get(url).status_code == 404, url
    # writes on their objects are 404 too (before any role or rule is checked)
    for url in (
        f"/api/work-packages/{pkg.pk}/open/",
        f"/api/work-packages/{pkg.pk}/add-cards/",
        f"/api/work-packages/{pkg.pk}/release/",
        f"/api/task-cards/{card.pk}/sign/",
        f"/api/task-cards/{card.pk}/inspect/",
        f"/api/task-steps/{step.pk}/sign/",
        f"/api/defects/{defect.pk}/defer/",
    ):
        assert post(c, url).status_code == 404, url
    # their own are there
    assert c.get(f"/api/work-packages/{mine.aircraft.packages.get().pk}/").status_code == 200

    # a hub planner may not mix aircraft either: the other aircraft's defect is refused
    r = post(
        session(mine.planner),
        "/api/work-packages/",
        {"aircraft": mine.aircraft.pk, "title": "x", "defects": [defect.pk]},
    )
    assert r.status_code == 400 and r.json()["field"] == "defects"


def test_operator_staff_raise_defects_on_their_own_aircraft_only():
    mine, theirs = hangar(), hangar()
    fm = f.user(operator=mine.operator, role="operator_fleet_manager")
    c = token(fm)
    body = {"ata": "32", "description": "Tyre worn", "source": "crew"}
    r = post(c, "/api/defects/", {**body, "aircraft": mine.aircraft.pk})
    assert r.status_code == 201 and r.json()["raised_by"] == fm.username
    r = post(c, "/api/defects/", {**body, "aircraft": theirs.aircraft.pk})
    assert r.status_code == 400 and "does not exist" in str(r.json()["aircraft"])
    assert not theirs.aircraft.defects.exists()
    # and do not plan work
    r = post(c, "/api/work-packages/", {"aircraft": mine.aircraft.pk, "title": "x"})
    assert r.status_code == 403
    r = post(c, "/api/defects/", {**body, "aircraft": mine.aircraft.pk, "source": "rumour"})
    assert r.status_code == 400 and "source" in r.json()
    r = post(c, "/api/defects/", {**body, "aircraft": mine.aircraft.pk, "ata": "x"})
    assert r.status_code == 400 and r.json()["field"] == "ata"


def _worked(h: Hangar) -> None:
    """A package in work (signed steps, a signed card) and a deferred defect."""
    pkg = opened(h, "GVI", "PROP")
    tech = session(h.tech)
    for card in pkg["cards"]:
        sign_steps(tech, card["id"])
    post(tech, f"/api/task-cards/{pkg['cards'][0]['id']}/sign/")
    d = work.raise_defect(
        actor=h.tech, aircraft=h.aircraft, ata="32", description="Shimmy", source="crew"
    )
    work.defer_defect(actor=h.certifier, defect=d, category="C", mel_item="32-1", reason="ok")


def _count(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200, url
    return len(ctx.captured_queries)


LISTS = ["/api/work-packages/", "/api/task-cards/", "/api/defects/", "/api/sign-offs/"]


def test_list_queries_do_not_grow_with_the_work():
    first = hangar()
    _worked(first)
    c = session(first.planner)
    ids = {
        "/api/work-packages/": first.aircraft.packages.get().pk,
        "/api/task-cards/": TaskCard.objects.filter(package__aircraft=first.aircraft).first().pk,
        "/api/defects/": first.aircraft.defects.get().pk,
        "/api/sign-offs/": SignOff.objects.first().pk,
    }
    paths = LISTS + [f"{url}{pk}/" for url, pk in ids.items()]
    small = {url: _count(c, url) for url in paths}
    for _ in range(2):
        _worked(hangar())
    assert {url: _count(c, url) for url in paths} == small
    # the budget: session, user, count, page (and the prefetches of a detail)
    assert all(small[url] <= 5 for url in LISTS), small


def test_schema_builds_without_warnings(tmp_path):
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    text = out.read_text()
    for path in (
        "/api/work-packages/{id}/release/",
        "/api/task-cards/{id}/inspect/",
        "/api/task-steps/{id}/sign/",
        "/api/defects/{id}/defer/",
        "/api/sign-offs/",
    ):
        assert path in text, path
