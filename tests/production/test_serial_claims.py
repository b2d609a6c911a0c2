"""An output serial is claimed once per part number when the order is made: a second
order naming it is refused naming the order that holds it, a serial already in the fleet
part register is refused, the database refuses a duplicate claim whatever the code does,
and two orders claiming one serial at the same instant: exactly one wins."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from kanat.core.errors import Conflict, RuleViolation
from kanat.production import build
from kanat.production import services as prod
from kanat.production.models import BuildOrder, BuildOutput
from tests import factories as f
from tests.threads import race


def station():
    """A serialised ground station product with a one-line BOM and a routing."""
    child = f.part_master(tracking="batch", make_buy="buy").part_number
    top = f.part_master().part_number
    f.bom(top, [(child, 1)])
    product = prod.define_product(
        actor=None, code="GCS-1", name="Ground station", kind="ground_segment", part_number=top
    )
    f.work_centre(code="BENCH")
    prod.define_routing(
        actor=None,
        part_number=top,
        operations=[{"seq": 10, "work_centre": "BENCH", "description": "Build"}],
    )
    return product


def order(product, *serials, actor=None):
    return build.create_build_order(
        actor=actor, product=product, quantity=len(serials), serials=list(serials)
    )


@pytest.mark.django_db
def test_a_serial_on_another_order_is_refused_naming_that_order():
    product = station()
    first = order(product, "GS-100")
    first = build.release_build_order(actor=None, order=first)  # any state holds the claim
    with pytest.raises(Conflict) as taken:
        order(product, "GS-101", "GS-100")
    assert taken.value.field == "serials"
    assert f"GS-100 is already claimed by build order {first.number}" in str(taken.value)
    assert BuildOrder.objects.count() == 1
    assert list(BuildOutput.objects.values_list("serial", flat=True)) == ["GS-100"]
    # another part number may use the same serial text
    other = f.part_master().part_number
    f.bom(other, [(f.part_master(tracking="batch", make_buy="buy").part_number, 1)])
    prod.define_routing(
        actor=None,
        part_number=other,
        operations=[{"seq": 10, "work_centre": "BENCH", "description": "Build"}],
    )
    radio = prod.define_product(
        actor=None, code="RAD-1", name="Radio", kind="other", part_number=other
    )
    assert order(radio, "GS-100").outputs.get().part_number == other


@pytest.mark.django_db
def test_a_serial_already_in_the_part_register_is_refused():
    product = station()
    f.part(pn=product.part_number, serial="GS-7")
    with pytest.raises(RuleViolation) as registered:
        order(product, "GS-7")
    assert registered.value.field == "serials"
    assert "already in the part register" in str(registered.value)
    assert not isinstance(registered.value, Conflict)
    assert not BuildOrder.objects.exists()


@pytest.mark.django_db
def test_the_database_refuses_a_second_claim_of_a_serial():
    product = station()
    first = order(product, "GS-1")
    second = order(product, "GS-2")
    with pytest.raises(IntegrityError), transaction.atomic():
        BuildOutput.objects.create(order=second, part_number=product.part_number, serial="GS-1")
    assert first.outputs.get().serial == "GS-1"


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_two_orders_claiming_one_serial_at_once_one_wins():
    product = station()
    planners = [f.user(role="planner") for _ in range(2)]
    outcomes = race(*[(lambda p=p: order(product, "GS-RACE", actor=p)) for p in planners])
    assert sorted(o.split(":")[0] for o in outcomes) == ["conflict", "won"], outcomes
    (lost,) = [o for o in outcomes if o != "won"]
    winner = BuildOrder.objects.get()
    assert "GS-RACE" in lost and winner.number in lost
    assert list(BuildOutput.objects.values_list("order", "serial")) == [(winner.pk, "GS-RACE")]


@pytest.mark.django_db
def test_a_claim_made_between_the_check_and_the_insert_is_refused_by_the_database(monkeypatch):
    """The window a race opens on PostgreSQL: the check saw no claim, the insert meets the
    other order's committed row; the refusal still names that order."""
    product = station()
    first = order(product, "GS-9")
    check = build._check_unclaimed
    calls = []

    def blind_first(*args):
        calls.append(args)
        if len(calls) > 1:
            check(*args)

    monkeypatch.setattr(build, "_check_unclaimed", blind_first)
    with pytest.raises(Conflict) as late:
        order(product, "GS-9")
    assert len(calls) == 2 and late.value.field == "serials"
    assert f"claimed by build order {first.number}" in str(late.value)
    assert BuildOrder.objects.count() == 1
