"""A serial's story from birth to now: its birth (manufacture, the life it entered Kanat
with), where it has been fitted (with its own hours and cycles then, and why it came off),
and what was done to it (compliance records, the signed work steps that moved it)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from kanat.fleet.models import Installation, Part
from kanat.fleet.selectors import part_counters_at
from kanat.maintenance.models import Compliance
from kanat.records.canonical import instant


def _number(value: float) -> float:
    return round(value, 2)


def story(part: Part, at: dt.datetime) -> dict[str, Any]:
    """The serial's story as of ``at`` (JSON-ready; instants in UTC)."""
    from kanat.production.build import build_record, consumed_into
    from kanat.work.models import SignOff

    rows = list(
        Installation.objects.filter(part=part, installed_at__lte=at)
        .select_related("aircraft__operator", "position")
        .order_by("installed_at", "id")
    )
    instants: list[dt.datetime] = [at]
    for r in rows:
        instants.append(r.installed_at)
        if r.removed_at is not None and r.removed_at <= at:
            instants.append(r.removed_at)
    counters = dict(zip(instants, part_counters_at(part, instants), strict=True))

    def life(t: dt.datetime) -> dict[str, float | int]:
        c = counters[t]
        return {"FH": _number(c.fh), "FC": c.fc}

    installations = []
    for r in rows:
        removed = r.removed_at if r.removed_at is not None and r.removed_at <= at else None
        installations.append(
            {
                "aircraft": r.aircraft.serial,
                "operator": r.aircraft.operator.code,
                "position": r.position.code,
                "installed_at": instant(r.installed_at),
                "part_life_at_installation": life(r.installed_at),
                "removed_at": instant(removed),
                "part_life_at_removal": life(removed) if removed else None,
                "removal_reason": r.get_removal_reason_display() if removed else None,
                "reference": r.reference,
            }
        )
    done: list[dict[str, Any]] = []
    compliances = (
        Compliance.objects.filter(part=part, done_at__lte=at)
        .select_related("task", "corrects")
        .order_by("done_at", "id")
    )
    corrected = set(
        Compliance.objects.filter(part=part, corrects__isnull=False).values_list(
            "corrects_id", flat=True
        )
    )
    for c in compliances:
        done.append(
            {
                "what": "compliance",
                "at": instant(c.done_at),
                "task": c.task.code,
                "by": c.performed_by_label,
                "reference": c.reference,
                "corrected": c.pk in corrected,
                "record": f"maintenance.compliance:{c.pk}",
            }
        )
    steps = (
        SignOff.objects.filter(part=part, signed_at__lte=at)
        .select_related("step", "card__package__aircraft", "signer")
        .order_by("signed_at", "id")
    )
    for s in steps:
        moved = "removed from" if s.step.kind == "remove" else "installed on"
        done.append(
            {
                "what": f"{moved} {s.card.package.aircraft.serial}",
                "at": instant(s.signed_at),
                "task": s.card.task.code if s.card.task_id else None,
                "by": s.signer.get_username(),
                "reference": f"{s.card.package.number} card {s.card.seq} step {s.step.seq}",
                "reason": s.removal_reason or None,
                "record": f"work.signoff:{s.pk}",
            }
        )
    for c in consumed_into(part):
        if c["at"] <= at:
            done.append(
                {
                    "what": f"consumed into {c['into']} by {c['order']}",
                    "at": instant(c["at"]),
                    "task": None,
                    "by": c["by"],
                    "reference": c["order"],
                    "record": f"production.buildconsumption:{c['pk']}",
                }
            )
    done.sort(key=lambda d: d["at"])
    now = counters[at]
    return {
        "as_of": instant(at),
        "part": {
            "pn": part.part_number.pn,
            "serial": part.serial,
            "description": part.part_number.description,
            "owner": part.operator.code if part.operator_id else "hub",
        },
        "birth": {
            "manufactured": part.manufactured.isoformat(),
            "entered_with": {"FH": _number(part.opening_fh), "FC": part.opening_fc},
            # Kanat's own build record of the serial (the build order that made it, the
            # BOM revision it was built to, what it was built from); a part entered from
            # elsewhere has none and carries its opening life
            "build_record": build_record(part),
            # for a serial bought in: how it came in (order, supplier, delivery, certificate)
            "receipt": receipt(part),
        },
        "life_now": {"FH": _number(now.fh), "FC": now.fc},
        "installations": installations,
        "maintenance": done,
    }


def receipt(part: Part) -> dict[str, Any] | None:
    """The stores' first receipt of the serial against a purchase order, or None."""
    from kanat.inventory.models import StockItem

    item = (
        StockItem.objects.filter(part=part, receipt__isnull=False)
        .select_related("receipt__order__supplier", "receipt__location")
        .order_by("received_at", "id")
        .first()
    )
    if item is None or item.receipt is None:
        return None
    r = item.receipt
    return {
        "purchase_order": r.order.number,
        "supplier": r.order.supplier.name,
        "delivery_ref": r.delivery_ref,
        "certificate_ref": item.certificate_ref,
        "received_at": instant(r.received_at),
        "location": r.location.code,
    }


def as_text(s: dict[str, Any]) -> str:
    p, b = s["part"], s["birth"]
    lines = [
        f"{p['pn']}/{p['serial']}  {p['description']}  (owner {p['owner']}), as of {s['as_of']}",
        f"born {b['manufactured']}, entered with {b['entered_with']['FH']} FH "
        f"{b['entered_with']['FC']} FC; life now {s['life_now']['FH']} FH "
        f"{s['life_now']['FC']} FC",
    ]
    if b.get("receipt"):
        r = b["receipt"]
        lines.append(
            f"received {r['received_at']} against {r['purchase_order']} from {r['supplier']} "
            f"(delivery {r['delivery_ref']}, certificate {r['certificate_ref']})"
        )
    if b["build_record"] is None:
        lines.append("built from: no build record in Kanat (entered with its opening life)")
    else:
        r = b["build_record"]
        lines.append(
            f"built by {r['order']} ({r['product']}) to BOM rev {r['bom_revision']}, "
            f"completed {r['built_at']}; built from:"
        )
        for c in r["built_from"]:
            what = f"serial {c['serial']}" if c["serial"] else f"batch {c['batch'] or '-'}"
            where = f" at {c['position']}" if c["position"] else ""
            lines.append(f"  #{c['find_number']} {c['pn']} {what} × {c['quantity']}{where}")
    lines.append("installations:")
    for i in s["installations"] or []:
        until = (
            f"removed {i['removed_at']} ({i['removal_reason']}) at "
            f"{i['part_life_at_removal']['FH']} FH"
            if i["removed_at"]
            else "fitted now"
        )
        lines.append(
            f"  {i['aircraft']} ({i['operator']}) {i['position']}: installed {i['installed_at']} "
            f"at {i['part_life_at_installation']['FH']} FH, {until}"
            + (f"  [{i['reference']}]" if i["reference"] else "")
        )
    if not s["installations"]:
        lines.append("  never installed")
    lines.append("what was done to it:")
    for d in s["maintenance"]:
        extra = f" ({d['reason']})" if d.get("reason") else ""
        flag = " [corrected]" if d.get("corrected") else ""
        task = f" {d['task']}" if d.get("task") else ""
        lines.append(
            f"  {d['at']}  {d['what']}{task}{extra} by {d['by'] or '?'}  {d['reference']}{flag}"
        )
    if not s["maintenance"]:
        lines.append("  nothing recorded")
    return "\n".join(lines) + "\n"
