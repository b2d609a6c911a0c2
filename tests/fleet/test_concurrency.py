"""Two people fitting the same part at the same time: exactly one wins."""

from __future__ import annotations

import pytest

from kanat.fleet.models import Installation
from tests import factories as f
from tests.factories import utc
from tests.threads import race


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_concurrent_installs_of_one_part_one_wins():
    pn = f.part_number()
    v = f.variant(positions={"ENG": [pn]})
    op = f.operator()
    targets = [f.aircraft(operator_=op, variant_=v) for _ in range(4)]
    part = f.part(pn=pn)
    outcomes = race(*(lambda ac=ac: f.install(part, ac, utc(2025, 1, 1)) for ac in targets))
    assert outcomes.count("won") == 1, outcomes
    assert all("already installed" in o for o in outcomes if o != "won")
    assert Installation.objects.filter(part=part).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_removal_through_the_api_is_one_transaction_with_its_audit():
    """Outside a test's wrapping transaction (as in production), the removal and its audit
    event commit together."""
    from django.test import Client

    from kanat.core.models import AuditEvent

    pn = f.part_number()
    ac = f.aircraft(variant_=f.variant(positions={"ENG": [pn]}))
    part = f.part(pn=pn)
    inst = f.install(part, ac, utc(2025, 1, 1))
    client = Client()
    client.force_login(f.user(role="planner"))
    r = client.post(
        f"/api/installations/{inst.pk}/remove/",
        {"removed_at": "2025-02-01T00:00:00Z", "reason": "scheduled"},
        content_type="application/json",
    )
    assert r.status_code == 200, r.content
    assert AuditEvent.objects.filter(action="fleet.remove_part").count() == 1
