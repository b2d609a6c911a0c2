"""A defect raised from a flight-log finding: once per finding, on the operator's own aircraft,
and it grounds the aircraft until deferred or rectified."""

from __future__ import annotations

import shutil

import pytest
from django.test import Client
from django.utils import timezone

from kanat.fleet import services as fleet_services
from kanat.flightdata.models import Finding
from kanat.flightdata.services import import_flight_log
from kanat.work.models import Defect, DefectSource
from kanat.work.selectors import grounding_defects
from tests import factories as f
from tests.flightdata.test_import import fitted_aircraft
from tests.flightlogs.conftest import shared_log

pytestmark = pytest.mark.django_db


def test_a_finding_raises_one_defect_that_grounds_the_aircraft(tmp_path):
    ac, _ = fitted_aircraft()
    fleet_services.set_type_limits(
        actor=None,
        aircraft_type=ac.variant.aircraft_type,
        limits={"hard_landing_accel_ms2": 25.0, "oat_min_c": -54, "oat_max_c": 54},
    )
    path = tmp_path / "log.ulg"
    shutil.copy(shared_log("test.ulg"), path)
    log, _ = import_flight_log(actor=None, aircraft=ac, path=path)
    finding = Finding.objects.filter(code="HARD_LANDING").first()
    assert finding is not None
    outsider, own = Client(), Client()
    outsider.force_login(f.user(operator=f.operator()))
    own.force_login(f.user(operator=ac.operator))
    url = f"/logs/findings/{finding.pk}/defect/"
    assert outsider.post(url, {"ata": "32"}).status_code == 404
    assert own.get(url).status_code == 405
    page = own.post(url, {"ata": "32"}, follow=True).content.decode()
    defect = Defect.objects.get()
    assert defect.source == DefectSource.FLIGHT and defect.ata == "32"
    assert defect.aircraft == ac and f"#{finding.pk}" in defect.source_ref
    assert defect.number in page and "grounds" in page
    own.post(url, {"ata": "32"})
    assert Defect.objects.count() == 1  # once per finding
    assert grounding_defects([ac.pk], timezone.now())[ac.pk] == [
        f"defect {defect.number} open, not deferred"
    ]
    assert defect.number in own.get(f"/logs/{log.pk}/").content.decode()
