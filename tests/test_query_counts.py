"""List pages and endpoints: the number of queries does not grow with the fleet."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests import factories as f

pytestmark = pytest.mark.django_db

LISTS = [
    "/",
    "/parts/",
    "/api/aircraft/",
    "/api/parts/",
    "/api/installations/",
    "/api/flights/",
    "/api/variants/",
    "/api/operators/",
]


def _count(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("url", LISTS)
def test_list_queries_do_not_grow_with_the_fleet(url):
    c = Client()
    c.force_login(f.user(role="planner"))
    op = f.operator()
    f.fleet_of(op, 2)
    small = _count(c, url)
    f.fleet_of(op, 6)
    f.fleet_of(f.operator(), 4)
    assert _count(c, url) == small


def test_aircraft_page_queries_do_not_grow_with_history():
    c = Client()
    c.force_login(f.user(role="planner"))
    ac = f.fleet_of(f.operator(), 1, flights_each=2)[0]
    url = f"/aircraft/{ac.pk}/"
    small = _count(c, url)
    for k in range(10):
        f.flight(ac, f.utc(2025, 3, 1 + k), 3)
    assert _count(c, url) == small


def test_part_page_queries_do_not_grow_with_its_history():
    from kanat.fleet import selectors, services

    c = Client()
    c.force_login(f.user(role="planner"))
    op = f.operator()
    pn = f.part_number()
    v = f.variant(positions={"ENG": [pn]})
    a1, a2 = f.aircraft(operator_=op, variant_=v), f.aircraft(operator_=op, variant_=v)
    part = f.part(pn=pn)
    f.install(part, a1, f.utc(2025, 1, 1))
    f.flight(a1, f.utc(2025, 1, 2), 4)
    url = f"/parts/{part.pk}/"
    small = _count(c, url)
    for k, ac in enumerate([a2, a1, a2]):
        services.remove_part(
            actor=None, part=part, removed_at=f.utc(2025, 2 + k, 1), reason="scheduled"
        )
        f.install(part, ac, f.utc(2025, 2 + k, 2))
        f.flight(ac, f.utc(2025, 2 + k, 3), 2)
    assert _count(c, url) == small
    # and the batch gives the same counters as one instant at a time
    instants = [f.utc(2025, 1, 3), f.utc(2025, 3, 5), f.utc(2025, 6, 1)]
    batch = selectors.part_counters_at(part, instants)
    assert batch == [selectors.part_counters([part], t)[part.pk] for t in instants]


def test_build_order_board_queries_do_not_grow_with_orders():
    from kanat.production import build
    from tests.production.test_build import aircraft_line

    line = aircraft_line()

    def orders(first: int, n: int) -> None:
        for i in range(first, first + n):
            order = build.create_build_order(
                actor=line.planner,
                product=line.product,
                quantity=1,
                serials=[f"UAV-{i:03}"],
                operator=line.operator,
            )
            if i % 2:
                build.release_build_order(actor=line.planner, order=order)
                build.raise_ncr(actor=line.inspector, order=order, description="Dent")

    c = Client()
    c.force_login(line.planner)
    orders(1, 2)
    small = _count(c, "/production/orders/?product=UAV-1")
    orders(3, 6)
    assert _count(c, "/production/orders/?product=UAV-1") == small


def test_first_article_list_queries_do_not_grow_with_records():
    from kanat.production import fai

    inspector = f.user(role="inspector")

    def records(n: int) -> None:
        for _ in range(n):
            record = fai.open_first_article(
                actor=inspector,
                part_number=f.part_master().part_number,
                serial="SN-1",
                reason="new_part",
                organisation="Hub",
            )
            fai.add_form2_entry(
                actor=inspector,
                fai=record,
                kind="functional_test",
                name="Power-on",
                specification="ATP-1",
            )
            fai.add_characteristic(
                actor=inspector,
                fai=record,
                number=1,
                requirement="Length",
                nominal="10",
                tolerance_plus="0.1",
                result="10.05",
            )

    c = Client()
    c.force_login(f.user(role="quality"))
    records(2)
    small = _count(c, "/production/fai/")
    records(5)
    assert _count(c, "/production/fai/") == small


def test_transfer_dashboard_queries_do_not_grow_with_rows():
    """A handful of grouped queries, whatever the signatures, grants, certificates and
    attendance: twice the data, the same count (hub and operator viewers)."""
    from tests.training.test_dashboard import transfer_world

    w = transfer_world()
    hub, own = Client(), Client()
    hub.force_login(w.hub)
    own.force_login(w.a_user)
    urls = ["/training/dashboard/", "/training/dashboard.csv", "/api/training/dashboard/"]
    small = {(who, url): _count(c, url) for who, c in (("hub", hub), ("op", own)) for url in urls}
    assert small["hub", "/training/dashboard/"] <= 20
    transfer_world()
    more = {(who, url): _count(c, url) for who, c in (("hub", hub), ("op", own)) for url in urls}
    assert more == small


def test_training_course_list_and_session_page_do_not_grow_with_rows():
    from kanat.training import services as training
    from tests.training.ladder import days_ago, ladder, pass_course

    lad = ladder()
    c = Client()
    c.force_login(lad.manager)
    session = training.schedule_session(
        actor=lad.manager,
        course=lad.hf,
        code="HF-COUNT",
        starts_on=days_ago(10).date(),
        ends_on=days_ago(9).date(),
        location="Hub",
        instructor="F. Teacher",
    )

    def people(n: int) -> None:
        for _ in range(n):
            person = f.user(role="technician")
            e = training.enrol(actor=lad.manager, session=session, person=person, at=days_ago(12))
            for d in (10, 9):
                training.record_attendance(
                    actor=lad.manager, enrolment=e, day=days_ago(d).date(), hours=4
                )
            wrong = training.record_assessment(
                actor=lad.manager, enrolment=e, element="theory", score=50, at=days_ago(9)
            )
            training.record_assessment(
                actor=lad.manager,
                enrolment=e,
                element="theory",
                score=90,
                at=days_ago(9),
                corrects=wrong,
                correction_reason="recount",
            )
            training.issue_certificate(actor=lad.manager, enrolment=e)

    people(1)
    small_list = _count(c, "/training/courses/")
    small_session = _count(c, f"/training/sessions/{session.pk}/")
    people(4)
    for k in range(3):
        pass_course(lad, lad.type_course, f.user(role="technician"), start=days_ago(40 + k))
    assert _count(c, "/training/courses/") == small_list
    assert _count(c, f"/training/sessions/{session.pk}/") == small_session


def test_training_proposals_queries_do_not_grow_with_trainees():
    """The queue evaluates every trainee's next stage in bulk (``matrix.proposals``): the
    same queries for one trainee or three, whatever their history; the recent grants
    below it are read in bulk too."""
    from kanat.training import services as training
    from tests.training.ladder import days_ago, ladder, pass_course

    lad = ladder()
    c = Client()
    c.force_login(lad.manager)

    def trainee(history: int = 1) -> None:
        person = f.user(role="technician")
        training.register_trainee(
            actor=lad.manager, person=person, origin="local", joined_on=days_ago(400).date()
        )
        for k in range(history):
            training.record_certificate(
                actor=lad.manager,
                person=person,
                course=lad.hf,
                number=f"HF-Q-{next(f._seq)}",
                issued_on=days_ago(300 - k).date(),
            )
        pass_course(lad, lad.type_course, person, start=days_ago(60))
        training.grant_stage(actor=lad.manager, person=person, stage=lad.supervised)

    trainee()
    one = _count(c, "/training/proposals/?close=1")
    trainee()
    two = _count(c, "/training/proposals/?close=1")
    trainee(history=5)  # more history: the same cost
    three = _count(c, "/training/proposals/?close=1")
    assert one == two == three
