"""A small engineering data set the API and page tests share."""

from __future__ import annotations

import pytest

from kanat.production import services as prod
from tests import factories as f


@pytest.fixture
def data():
    rivet = f.part_master(tracking="consumable", make_buy="buy", origin="imported").part_number
    panel = f.part_master(tracking="batch").part_number
    top = f.part_master().part_number
    f.bom(panel, [(rivet, 12)])
    a = f.bom(top, [(panel, 2), (rivet, 4)])
    b = prod.create_bom_revision(actor=None, part_number=top)
    prod.change_bom_line(actor=None, line=b.lines.get(find_number=20), quantity=6)
    product = prod.define_product(
        actor=None,
        code="SATCOM-T1",
        name="SATCOM terminal",
        kind="satcom_terminal",
        part_number=top,
    )
    wc = f.work_centre(code="BOND")
    routing, _ = prod.define_routing(
        actor=None,
        part_number=panel,
        operations=[
            {
                "seq": 10,
                "work_centre": "BOND",
                "description": "Bond",
                "standard_hours": 2,
                "inspection_point": True,
                "inspection": "Tap test",
            }
        ],
    )
    return {"a": a, "b": b, "product": product, "wc": wc, "routing": routing, "rivet": rivet}
