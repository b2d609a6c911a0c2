"""Fixes from a review of the foundation: each a rule a user would rely on."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command
from django.test import Client

from kanat.core.models import AuditEvent, User
from kanat.fleet import services
from kanat.fleet.models import Installation
from tests import factories as f
from tests.factories import utc

pytestmark = pytest.mark.django_db


def hub_client() -> Client:
    c = Client()
    c.force_login(f.user(role="planner"))
    return c


def test_demo_never_loads_beside_a_real_user(capsys):
    User.objects.create_superuser("admin", "a@example.org", "s3cret-pass-9")
    call_command("demo", "--if-empty")
    assert "not loaded" in capsys.readouterr().out
    assert not User.objects.filter(username="hub").exists()


def test_superuser_is_a_hub_administrator_made_by_the_service():
    admin = User.objects.create_superuser("root", "r@example.org", "s3cret-pass-9")
    assert admin.role == "hub_admin" and admin.is_superuser and admin.operator_id is None
    assert AuditEvent.objects.filter(action="core.create_user", object_id=str(admin.pk)).exists()
    with pytest.raises(ValueError, match="hub administrator"):
        User.objects.create_superuser("x", "x@example.org", "s3cret-pass-9", role="planner")


def test_a_date_alone_shows_the_end_of_that_day():
    ac = f.fleet_of(f.operator(), 1, flights_each=0)[0]
    part = f.part(pn=Installation.objects.get(aircraft=ac).part.part_number)
    services.remove_part(
        actor=None,
        part=Installation.objects.get(aircraft=ac).part,
        removed_at=utc(2025, 3, 1, 8),
        reason="scheduled",
    )
    f.install(part, ac, utc(2025, 3, 1, 12))
    body = hub_client().get(f"/aircraft/{ac.pk}/?at=2025-03-01").content.decode()
    assert part.serial in body  # fitted at noon that day


def test_api_refuses_to_create_a_closed_installation():
    ac = f.aircraft()
    p = f.part(pn=f.position(ac).part_numbers.get())
    r = hub_client().post(
        "/api/installations/",
        {
            "part": p.pk,
            "aircraft": ac.pk,
            "position": f.position(ac).pk,
            "installed_at": "2025-01-01T00:00:00Z",
            "removed_at": "2025-02-01T00:00:00Z",
        },
        content_type="application/json",
    )
    assert r.status_code == 400 and "remove action" in r.content.decode()
    assert not Installation.objects.exists()


def test_removing_a_stale_installation_is_a_conflict():
    ac = f.fleet_of(f.operator(), 1, flights_each=0)[0]
    old = Installation.objects.get(aircraft=ac)
    services.remove_part(actor=None, part=old.part, removed_at=utc(2025, 2, 1), reason="scheduled")
    f.install(old.part, ac, utc(2025, 3, 1))  # refitted: a new open row
    r = hub_client().post(
        f"/api/installations/{old.pk}/remove/",
        {"removed_at": "2025-04-01T00:00:00Z", "reason": "scheduled"},
        content_type="application/json",
    )
    assert r.status_code == 409 and "no longer the open one" in r.json()["detail"]
    assert Installation.objects.filter(part=old.part, removed_at__isnull=True).count() == 1


def test_flights_entered_by_hand_may_not_land_in_the_future():
    ac = f.aircraft()
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=2)
    r = hub_client().post(
        "/api/flights/",
        {
            "aircraft": ac.pk,
            "takeoff": (later - dt.timedelta(hours=2)).isoformat(),
            "landing": later.isoformat(),
        },
        content_type="application/json",
    )
    assert r.status_code == 400 and "in the future" in r.json()["detail"]
