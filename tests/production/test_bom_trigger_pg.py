"""PostgreSQL itself refuses changes to a released BOM and its lines (production 0005):
raw SQL that goes round the app is refused; what the app legitimately does to a BOM
(drafts edited, a released revision superseded) still works."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from kanat.production import services as prod
from kanat.production.models import Bom, BomLine, BomStatus
from tests import factories as f

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def refused(sql: str, params: list | None = None, match: str = "released BOM") -> None:
    with (
        pytest.raises(DatabaseError, match=match),
        transaction.atomic(),
        connection.cursor() as cur,
    ):
        cur.execute(sql, params)


def test_postgresql_refuses_raw_changes_to_a_released_bom_and_its_lines():
    child = f.part_master(tracking="batch", make_buy="buy").part_number
    top = f.part_master().part_number
    released = f.bom(top, [(child, 2)])
    line = released.lines.get()
    refused("UPDATE production_bomline SET quantity = 3 WHERE id = %s", [line.pk])
    refused("DELETE FROM production_bomline WHERE id = %s", [line.pk])
    refused(
        "INSERT INTO production_bomline (bom_id, find_number, child_id, quantity, uom, "
        "ref_des, note) VALUES (%s, 99, %s, 1, 'ea', '', '')",
        [released.pk, child.pk],
    )
    refused("UPDATE production_bom SET revision = 'Z' WHERE id = %s", [released.pk])
    refused("UPDATE production_bom SET status = 'draft' WHERE id = %s", [released.pk])
    refused(
        "UPDATE production_bom SET status = 'superseded', superseded_at = now(), "
        "reason = 'sneaked in' WHERE id = %s",
        [released.pk],
    )
    refused("DELETE FROM production_bom WHERE id = %s", [released.pk])
    line.refresh_from_db()
    assert line.quantity == 2 and BomLine.objects.filter(bom=released).count() == 1

    # a draft is edited freely; releasing it supersedes the released one (allowed)
    draft = prod.create_bom_revision(actor=None, part_number=top)
    with connection.cursor() as cur:
        cur.execute("UPDATE production_bomline SET quantity = 5 WHERE bom_id = %s", [draft.pk])
    prod.release_bom(actor=None, bom=draft)
    released.refresh_from_db()
    assert released.status == BomStatus.SUPERSEDED and released.superseded_at is not None
    assert Bom.objects.get(pk=draft.pk).lines.get().quantity == 5
    # superseded is final too
    refused("UPDATE production_bom SET status = 'released' WHERE id = %s", [released.pk])
    refused("UPDATE production_bomline SET note = 'x' WHERE bom_id = %s", [released.pk])


def test_postgresql_refuses_changes_to_a_build_scrap():
    from kanat.production import build
    from kanat.production.models import BuildScrap
    from tests.production.test_build import aircraft_line, order_for

    line = aircraft_line()
    order = order_for(line)
    (engine, *_) = build.issue_material(actor=line.storekeeper, order=order)
    ncr = build.raise_ncr(actor=line.inspector, order=order, consumption=engine, description="x")
    build.disposition_ncr(actor=line.inspector, ncr=ncr, disposition="scrap")
    assert BuildScrap.objects.count() == 1
    refused("UPDATE production_buildscrap SET quantity = quantity", match="append-only")
    refused("DELETE FROM production_buildscrap", match="append-only")
