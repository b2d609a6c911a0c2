"""Two people fitting the same part at the same time: exactly one wins."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from kanat.core.errors import Conflict
from kanat.fleet.models import Installation
from tests import factories as f
from tests.factories import utc


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_concurrent_installs_of_one_part_one_wins():
    pn = f.part_number()
    v = f.variant(positions={"ENG": [pn]})
    op = f.operator()
    targets = [f.aircraft(operator_=op, variant_=v) for _ in range(4)]
    part = f.part(pn=pn)
    barrier = threading.Barrier(len(targets))
    outcomes: list[str] = []

    def fit(ac):
        try:
            barrier.wait()
            f.install(part, ac, utc(2025, 1, 1))
            outcomes.append("won")
        except Conflict as exc:
            outcomes.append(f"conflict: {exc}")
        finally:
            connection.close()

    threads = [threading.Thread(target=fit, args=(ac,)) for ac in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("won") == 1, outcomes
    assert all("already installed" in o for o in outcomes if o != "won")
    assert Installation.objects.filter(part=part).count() == 1
