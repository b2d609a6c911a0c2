"""The transfer dashboard on data built through the services: the figures, the operator
scoping, the CSV, the PDF and the API."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zlib
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from kanat.core.models import User
from kanat.training import selectors
from kanat.training import services as training
from kanat.training.dashboard import build
from kanat.training.models import Attendance
from kanat.training.trend import HUB, Month, Share
from kanat.work import services as work
from kanat.work.models import StepKind
from tests import factories as f
from tests.training.ladder import Ladder, ladder, pass_course

pytestmark = pytest.mark.django_db


@dataclass
class World:
    a: Ladder  # operator A's hangar, with the local trainee
    b: Ladder  # operator B's hangar
    month: Month  # when the steps were signed
    hub: User
    a_user: User
    b_user: User


def transfer_world(hub_username: str | None = None) -> World:
    """Operator A: the local trainee performs the propeller card's three steps under h.tech's
    supervision and h.tech (not locally trained) signs a GVI step, in one month; the PROP
    package is released by a certifier of local origin. Operator B: one GVI step by its own
    technician. Training: the licensor's type course and the local school's recurrent."""
    a, b = ladder(steps=1), ladder(steps=1)
    month = Month.of(timezone.now().date()).previous().previous()
    base = month.start + dt.timedelta(days=4, hours=8)
    trainee, h = a.trainee, a.h
    training.record_certificate(
        actor=a.manager,
        person=trainee,
        course=a.hf,
        number=f"HF-{trainee.pk}",
        issued_on=(base - dt.timedelta(days=600)).date(),
        expires_on=(base + dt.timedelta(days=400)).date(),
    )
    pass_course(a, a.type_course, trainee, start=base - dt.timedelta(days=70))
    pass_course(a, a.hf_recurrent, trainee, start=base - dt.timedelta(days=20), days=1)
    training.grant_stage(
        actor=a.manager, person=trainee, stage=a.supervised, at=base - dt.timedelta(days=30)
    )
    training.register_trainee(
        actor=a.manager, person=h.certifier, origin="local", joined_on=dt.date(2024, 1, 1)
    )
    training.register_trainee(
        actor=a.manager, person=h.tech, origin="licensor", joined_on=dt.date(2024, 1, 1)
    )

    def package(hangar, key, at):
        pkg = work.create_package(
            actor=hangar.planner,
            aircraft=hangar.aircraft,
            title=f"{key} visit",
            items=[work.DueRef(hangar.tasks[key])],
            at=at,
        )
        work.open_package(actor=hangar.planner, package=pkg, at=at)
        return pkg

    prop = package(h, "PROP", base)
    card = prop.cards.get()
    for i, step in enumerate(card.steps.all()):
        at = base + dt.timedelta(hours=i)
        value = 1.2 if step.kind == StepKind.MEASURE else None
        entry = work.sign_step_supervised(
            actor=trainee, step=step, supervisor=h.tech, at=at, value=value
        )
        work.countersign_step(actor=h.tech, entry=entry, at=at + dt.timedelta(minutes=30))
    work.sign_card(actor=h.tech, card=card, at=base + dt.timedelta(days=1))
    work.inspect_card(actor=h.inspector, card=card, at=base + dt.timedelta(days=1, hours=1))
    work.release_package(actor=h.certifier, package=prop, at=base + dt.timedelta(days=2))
    gvi = package(h, "GVI", base + dt.timedelta(days=3))
    work.sign_step(actor=h.tech, step=gvi.cards.get().steps.get(), at=base + dt.timedelta(days=3))
    gvi_b = package(b.h, "GVI", base + dt.timedelta(days=3))
    work.sign_step(
        actor=b.h.tech, step=gvi_b.cards.get().steps.get(), at=base + dt.timedelta(days=3)
    )
    return World(
        a,
        b,
        month,
        hub=f.user(
            role="hub_admin",
            username=hub_username or f"hub-dash-{next(f._seq)}",
            password="pw-for-tests-1",
        ),
        a_user=f.user(operator=h.operator),
        b_user=f.user(operator=b.h.operator),
    )


def _share(series, month: Month) -> Share:
    return dict(series.points)[month]


def _period(w: World) -> tuple[Month, Month]:
    last = Month.of(timezone.now().date())
    return w.month.previous().previous().previous(), last


def test_the_hub_sees_every_operator_and_the_hub_total():
    w = transfer_world()
    first, last = _period(w)
    d = build(w.hub, first, last)
    a, b = w.a.h.operator.code, w.b.h.operator.code
    assert {a, b} <= {code for code, _ in d.operators}
    # A: three supervised steps by the local trainee, one by the licensor's technician
    assert _share(d.steps[a], w.month) == Share(3, 4)
    assert _share(d.steps[b], w.month) == Share(0, 1)
    assert _share(d.steps[HUB], w.month) == Share(3, 5)
    assert _share(d.releases[a], w.month) == Share(1, 1)
    assert _share(d.releases[b], w.month).value is None
    # nothing else was signed in the period
    other = [m for m in d.months if m != w.month]
    assert all(_share(d.steps[HUB], m) == Share(0, 0) for m in other)

    # the stage snapshot agrees with the selectors at every month end
    trainee = w.a.trainee
    for snap in d.stages:
        held = selectors.current_stage(
            selectors.standing_grants(trainee, snap.at), w.a.supervised.aircraft_type_id
        )
        counted = {st.id: n for st, n in snap.counts}
        assert counted[w.a.supervised.pk] == int(held is not None and held.stage == w.a.supervised)
        assert counted[w.a.independent.pk] == 0
    assert {st.id: n for st, n in d.stages[-1].counts}[w.a.supervised.pk] == 1

    # hours by the attendance day's month and the course's provider
    expected: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for att in Attendance.objects.select_related("enrolment__session__course"):
        expected[att.day.strftime("%Y-%m"), att.enrolment.session.course.provider] += att.hours
    got = {(p.month.label, prov): h for p in d.hours for prov, h in p.by_provider if h}
    assert got == dict(expected)
    assert sum(h for (_, prov), h in got.items() if prov == "licensor") == Decimal("56.5")
    assert sum(h for (_, prov), h in got.items() if prov == "local_school") == Decimal("4.1")


def test_a_withdrawn_grant_leaves_the_count():
    w = transfer_world()
    first, last = _period(w)
    grant = w.a.trainee.stage_grants.get()
    training.withdraw_stage(actor=w.a.manager, grant=grant, reason="left the programme")
    d = build(w.hub, first, last)
    counted = {st.id: n for st, n in d.stages[-1].counts}
    assert counted[w.a.supervised.pk] == 0
    assert {st.id: n for st, n in d.stages[-2].counts}[w.a.supervised.pk] == 1


def test_an_operator_user_sees_only_their_operator():
    w = transfer_world()
    first, last = _period(w)
    a, b = w.a.h.operator.code, w.b.h.operator.code
    d = build(w.a_user, first, last)
    assert [code for code, _ in d.operators] == [a]
    assert d.selected == a and d.series_keys() == [a]
    assert _share(d.steps[a], w.month) == Share(3, 4)
    assert b not in d.steps
    # the hub total an operator user could compute is their own operator's only
    assert _share(d.steps[HUB], w.month) == Share(3, 4)
    # trainees are hub staff: no hub-wide stage or hours figures, no production figures
    assert all(s.total == 0 for s in d.stages)
    assert all(p.total == 0 for p in d.hours)
    assert d.localisation == []
    with pytest.raises(LookupError):
        build(w.a_user, first, last, operator=b)

    db = build(w.b_user, first, last)
    assert _share(db.steps[b], w.month) == Share(0, 1)
    assert _share(db.steps[HUB], w.month) == Share(0, 1)


def _client(user: User) -> Client:
    c = Client()
    c.force_login(user)
    return c


def test_the_page_shows_charts_tables_and_the_operator_selector():
    w = transfer_world()
    a, b = w.a.h.operator.code, w.b.h.operator.code
    c = _client(w.hub)
    r = c.get("/training/dashboard/")
    assert r.status_code == 200
    html = r.content.decode()
    assert html.count("<svg") >= 3
    assert "Hub total (all operators)" in html and f'value="{a}"' in html
    assert f"<td>{w.month.label}</td>" in html
    assert re.search(
        r"<td class=\"num\">3</td><td class=\"num\">5</td><td class=\"num\">60%</td>", html
    )
    r = c.get("/training/dashboard/", {"operator": a})
    assert re.search(
        r"<td class=\"num\">3</td><td class=\"num\">4</td><td class=\"num\">75%</td>",
        r.content.decode(),
    )
    # operator user: own operator only, another operator is a 404, no production figures
    oc = _client(w.a_user)
    html = oc.get("/training/dashboard/").content.decode()
    assert f'value="{a}"' in html and f'value="{b}"' not in html
    assert 'id="localisation"' not in html and "Hub total" not in html
    assert oc.get("/training/dashboard/", {"operator": b}).status_code == 404
    assert oc.get("/training/dashboard.csv", {"operator": b}).status_code == 404
    assert oc.get("/api/training/dashboard/", {"operator": b}).status_code == 404


def test_bad_parameters_are_refused_naming_the_parameter():
    c = _client(f.user(role="hub_admin"))
    r = c.get("/training/dashboard/", {"from": "2026-13"})
    assert (
        r.status_code == 400 and "from: &#x27;2026-13&#x27; has no month 13" in r.content.decode()
    )
    r = c.get("/training/dashboard.csv", {"from": "2026-05", "to": "2026-01"})
    assert r.status_code == 400 and "from: 2026-05 is after to (2026-01)" in r.content.decode()
    r = c.get("/api/training/dashboard/", {"to": "soon"})
    assert r.status_code == 400 and "to" in r.json()


def test_the_csv_is_tidy_and_scoped():
    w = transfer_world()
    a, b = w.a.h.operator.code, w.b.h.operator.code
    r = _client(w.hub).get("/training/dashboard.csv")
    assert r.status_code == 200 and r["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.content.decode())))
    assert list(rows[0]) == ["month", "series", "operator", "numerator", "denominator", "value"]
    by = {(x["month"], x["series"], x["operator"]): x for x in rows}
    m = w.month.label
    assert by[m, "local_step_share", a] == {
        "month": m,
        "series": "local_step_share",
        "operator": a,
        "numerator": "3",
        "denominator": "4",
        "value": "0.7500",
    }
    assert by[m, "local_step_share", "hub"]["value"] == "0.6000"
    assert by[m, "local_release_share", b]["value"] == ""  # nothing released
    stage = f"people_at_stage:{w.a.supervised.aircraft_type.code} Supervised"
    assert by[Month.of(timezone.now().date()).label, stage, "hub"]["value"] == "1"
    assert any(x["series"] == "training_hours:licensor" and x["numerator"] != "0" for x in rows)

    rows = list(
        csv.DictReader(
            io.StringIO(_client(w.a_user).get("/training/dashboard.csv").content.decode())
        )
    )
    assert {x["operator"] for x in rows} == {a}
    assert not any(x["series"].startswith("localisation") for x in rows)


def _pdf_text(content: bytes) -> str:
    """The page streams of a core-font PDF, inflated."""
    out = []
    for m in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", content, re.S):
        try:
            out.append(zlib.decompress(m.group(1)).decode("latin-1"))
        except zlib.error:
            out.append(m.group(1).decode("latin-1"))
    return "\n".join(out)


def test_the_pdf_opens_and_carries_the_figures(monkeypatch):
    w = transfer_world()
    c = _client(w.hub)
    r = c.get("/training/dashboard.pdf", {"operator": w.a.h.operator.code})
    assert r.status_code == 200 and r["Content-Type"] == "application/pdf"
    assert r.content.startswith(b"%PDF") and r.content.rstrip().endswith(b"%%EOF")
    # with the core font the text is legible in the streams
    monkeypatch.setattr("kanat.records.pdf.unicode_font", lambda: None)
    text = _pdf_text(c.get("/training/dashboard.pdf").content)
    assert "Transfer dashboard" in text
    assert "3/5" in text  # the hub's steps in the month
    assert "1/1" in text  # the release
    assert "Localisation of production" in text
    assert "People at each authorisation stage" in text


def test_the_api_gives_the_same_figures():
    w = transfer_world()
    a = w.a.h.operator.code
    body = _client(w.hub).get("/api/training/dashboard/").json()
    point = next(p for p in body["local_step_share"][a] if p["month"] == w.month.label)
    assert point == {"month": w.month.label, "local": 3, "total": 4, "share": 0.75}
    assert body["scope"] == "hub" and body["localisation"] == []
    mine = _client(w.a_user).get("/api/training/dashboard/").json()
    assert set(mine["local_step_share"]) == {a} and mine["localisation"] is None
    assert all(s["people"] == 0 for snap in mine["people_at_stage"] for s in snap["stages"])
