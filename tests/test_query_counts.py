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
