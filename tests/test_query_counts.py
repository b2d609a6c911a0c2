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
