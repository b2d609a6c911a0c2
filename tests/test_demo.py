from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from kanat.core.models import AuditEvent, Hub, Operator, User
from kanat.fleet.models import Aircraft, AssetKind, Flight, Installation, PartNumber, Variant
from kanat.maintenance import forecasting
from kanat.maintenance.models import TaskRevision
from tests import factories as f

pytestmark = pytest.mark.django_db


def test_demo_loads_a_mixed_fleet_once(capsys):
    call_command("demo")
    assert Hub.objects.get().is_demo
    assert set(Operator.objects.values_list("code", flat=True)) == {"KZ-ADF", "RP-B", "RP-C"}
    flying = Aircraft.objects.filter(variant__aircraft_type__kind=AssetKind.AIRCRAFT)
    assert flying.count() >= 24
    assert {"ANKA-A", "ANKA-B", "ANKA-S", "ANKA-I"} <= set(
        Variant.objects.values_list("code", flat=True)
    )
    assert flying.exclude(variant__aircraft_type__code="ANKA").exists()  # mixed fleet
    assert Aircraft.objects.filter(variant__aircraft_type__kind=AssetKind.GROUND_STATION).exists()
    assert Flight.objects.count() > 1000
    assert Installation.objects.filter(removed_at__isnull=False).exists()  # parts moved
    assert not PartNumber.objects.filter(invented=False).exists()  # all marked invented
    for name, op in (("hub", None), ("operator-kz", "KZ-ADF"), ("operator-b", "RP-B")):
        u = User.objects.get(username=name)
        assert u.check_password("demo")
        assert (u.operator.code if u.operator else None) == op
    result = forecasting.forecast(as_of=timezone.now())
    statuses = {row.status for row in result.rows}
    assert statuses == {"ok", "due_soon", "in_tolerance", "overdue"}
    assert any(s.status == "grounded" for s in result.aircraft_status)
    assert TaskRevision.objects.filter(invented=True).count() == TaskRevision.objects.count()
    counts = (Flight.objects.count(), AuditEvent.objects.count())
    capsys.readouterr()
    call_command("demo")
    assert "already loaded" in capsys.readouterr().out
    assert (Flight.objects.count(), AuditEvent.objects.count()) == counts


def test_demo_refuses_a_database_with_real_data():
    f.operator(code="REAL")
    with pytest.raises(CommandError, match="non-demo data"):
        call_command("demo")
    assert not User.objects.filter(username="hub").exists()


def test_demo_if_empty_leaves_a_real_database_alone(capsys):
    f.operator(code="REAL")
    call_command("demo", "--if-empty")
    assert "not loaded" in capsys.readouterr().out
    assert not User.objects.filter(username="hub").exists()
