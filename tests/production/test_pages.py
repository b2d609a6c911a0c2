"""Engineering data pages: the BOM tree with revision compare and the routing, for hub
staff; operator staff get 403."""

from __future__ import annotations

import pytest

from tests import factories as f
from tests.production.test_api import client_for

pytestmark = pytest.mark.django_db


def test_bom_pages_show_the_tree_and_the_changes_between_revisions(data):
    c = client_for(f.user(role="planner"))
    a, b, rivet = data["a"], data["b"], data["rivet"]
    listing = c.get("/production/boms/").content.decode()
    assert f"/production/boms/{a.pk}/" in listing and "Superseded" not in listing
    body = c.get(f"/production/boms/{a.pk}/").content.decode()
    assert "revision A" in body and "Released" in body
    assert f'padding-left: 2em">{rivet.pn}' in body  # level 2: top > panel > rivet
    assert "<td>24</td>" in body  # 2 panels × 12 rivets per assembly
    diff = c.get(f"/production/boms/{b.pk}/?with={a.pk}").content.decode()
    assert "Changes from revision A to B" in diff
    assert "changed (quantity)" in diff and "4 → 6" in diff
    page = c.get(f"/production/routings/{data['routing'].pk}/").content.decode()
    assert "BOND" in page and "Tap test" in page


def test_operator_staff_get_403_on_engineering_pages(data):
    c = client_for(f.user(operator=f.operator()))
    for url in (
        "/production/boms/",
        f"/production/boms/{data['a'].pk}/",
        f"/production/routings/{data['routing'].pk}/",
    ):
        assert c.get(url).status_code == 403, url
    hub = client_for(f.user(role="planner"))
    assert hub.get("/production/boms/999999/").status_code == 404
