"""The task card's "to stores": once a removal step is signed, a role that manages stock
returns the part it took off to the stores from the card (``return_to_stores``, referenced
by package and card), and the card then links its stock item. Errors show at the step with
nothing changed; other roles get no form and a 403; another operator's card is a 404."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from kanat.core.models import AuditEvent
from kanat.core.roles import Role
from kanat.inventory import services as inv
from kanat.inventory.models import MovementKind, StockItem, StockMovement, StockStatus
from kanat.work import services as work
from tests import factories as f
from tests.work.scenario import hangar

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def _removed():
    """A hangar whose engine-life card has its removal step signed: the engine is off."""
    h = hangar()
    pkg = work.create_package(
        actor=h.planner,
        aircraft=h.aircraft,
        title="Engine change",
        items=[work.DueRef(h.tasks["ENG-LL"], h.engine)],
    )
    work.open_package(actor=h.planner, package=pkg)
    card = pkg.cards.get()
    step = card.steps.get(seq=1)
    removal = work.sign_step(actor=h.tech, step=step, removal_reason="unscheduled")
    assert removal.part == h.engine
    return h, card, removal


def _state():
    return StockMovement.objects.count(), StockItem.objects.count(), AuditEvent.objects.count()


def _step(html: str) -> str:
    return html.split('id="step-1"')[1].split("</article>")[0]


def test_the_removed_part_goes_to_stores_from_the_card():
    h, card, removal = _removed()
    loc = f.location(code="US-BAY")
    keeper = f.user(role=Role.STOREKEEPER)
    c = client_for(keeper)
    url = reverse("work:card_detail", args=[card.pk])
    step = _step(c.get(url).content.decode())
    assert reverse("work:card_to_stores", args=[card.pk]) in step and "US-BAY" in step
    r = c.post(
        reverse("work:card_to_stores", args=[card.pk]),
        {"signoff": removal.pk, "location": loc.pk, "status": "unserviceable"},
    )
    assert r.status_code == 302 and r["Location"].endswith(f"{url}#step-1")
    item = StockItem.objects.get(part=h.engine)
    assert (item.status, item.location, item.quantity, item.owner) == (
        StockStatus.UNSERVICEABLE,
        loc,
        1,
        h.operator,
    )
    move = StockMovement.objects.get(item=item, kind=MovementKind.RETURN)
    assert move.reference == f"{card.package.number} card {card.seq}" and move.actor == keeper
    step = _step(c.get(url).content.decode())
    link = reverse("inventory:item_detail", args=[item.pk])
    assert "is in the stores" in step and link in step  # the message, at the step
    assert "In the stores" in step and "US-BAY" in step
    assert reverse("work:card_to_stores", args=[card.pk]) not in step  # not offered twice
    # and it starts the rotable loop from its item's page
    assert 'id="form-repair-out"' in c.get(link).content.decode()


def test_a_refused_return_shows_at_the_step_and_changes_nothing():
    h, card, removal = _removed()
    loc = f.location()
    shut = f.location(code="SHUT-2")
    c = client_for(f.user(role=Role.STOREKEEPER))
    to = reverse("work:card_to_stores", args=[card.pk])
    before = _state()
    r = c.post(to, {"signoff": removal.pk, "location": loc.pk, "status": "scrapped"})
    assert r.status_code == 400
    assert "Select a valid choice" in _step(r.content.decode())
    # a closed location is not offered
    shut.active = False
    shut.save()
    r = c.post(to, {"signoff": removal.pk, "location": shut.pk, "status": "unserviceable"})
    assert r.status_code == 400
    assert "Select a valid choice" in _step(r.content.decode())
    assert _state() == before
    # already in stores (the stores took it in by the API): a conflict, named
    inv.return_to_stores(
        actor=None, part=h.engine, location=loc, status="quarantine", reference="API"
    )
    before = _state()
    r = c.post(to, {"signoff": removal.pk, "location": loc.pk, "status": "unserviceable"})
    assert r.status_code == 409
    html = r.content.decode()
    assert "is already in stock" in html and 'id="error"' in html
    assert _state() == before


def test_only_a_stock_role_gets_the_form():
    h, card, removal = _removed()
    loc = f.location()
    url = reverse("work:card_detail", args=[card.pk])
    to = reverse("work:card_to_stores", args=[card.pk])
    tech = client_for(h.tech)
    step = _step(tech.get(url).content.decode())
    assert to not in step and "not in the stores yet" in step
    keeper = client_for(f.user(role=Role.STOREKEEPER))
    before = _state()
    r = tech.post(to, {"signoff": removal.pk, "location": loc.pk, "status": "unserviceable"})
    assert r.status_code == 403
    assert _state() == before
    # a sign-off that is not on this card: 404
    r = keeper.post(to, {"signoff": "999999", "location": loc.pk, "status": "unserviceable"})
    assert r.status_code == 404
    assert _state() == before


def test_another_operators_card_is_404():
    h, card, removal = _removed()
    loc = f.location()
    other = f.user(operator=f.operator())
    to = reverse("work:card_to_stores", args=[card.pk])
    r = client_for(other).post(
        to, {"signoff": removal.pk, "location": loc.pk, "status": "unserviceable"}
    )
    assert r.status_code == 404
    own = client_for(f.user(operator=h.operator))
    assert to not in own.get(reverse("work:card_detail", args=[card.pk])).content.decode()
    assert not StockItem.objects.exists()
