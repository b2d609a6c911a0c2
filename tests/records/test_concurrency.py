"""Records signed at the same time by several people go into their chain one after the other:
no two links share a place, and the chain stays intact (real threads; on SQLite in make
test's second pass, on a database file: BEGIN IMMEDIATE and a busy timeout serialise them)."""

from __future__ import annotations

import json
import threading

import pytest
from django.db import connection

from kanat.bundles.importer import import_bundle
from kanat.fleet.models import Aircraft
from kanat.maintenance import services
from kanat.maintenance.models import Task
from kanat.records import chain
from kanat.records.models import ChainLink
from tests import factories as f
from tests.maintenance.test_forecast_rules import bundle, task


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_simultaneous_signatures_take_one_place_each():
    import_bundle(json.dumps(bundle(tasks=[task(interval={"DY": 30})])).encode())
    ac = Aircraft.objects.get(serial="A1")
    t1 = Task.objects.get(code="T1")
    planner = f.user(role="planner")
    writers = 4
    barrier = threading.Barrier(writers)
    errors: list[BaseException] = []

    def sign(n: int) -> None:
        try:
            barrier.wait()
            for k in range(3):
                services.record_compliance(
                    actor=planner, task=t1, aircraft=ac, done_at=f.utc(2025, 2, 1 + n, k)
                )
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=sign, args=(n,)) for n in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    seqs = sorted(ChainLink.objects.filter(chain="OP").values_list("seq", flat=True))
    assert seqs == list(range(1, 3 * writers + 1))
    assert chain.verify() == []
