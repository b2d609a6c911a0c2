"""`kanat bundle import`: all or nothing, idempotent, errors that name entry and field.

Reference data, aircraft, parts and tasks go through the domain services one by one;
installations, flights and compliance records (the bulk of a bundle) are checked in
memory against each other and against what the database holds, then written in bulk
with one audit event per row, all in one transaction.
"""

from __future__ import annotations

import bisect
import datetime as dt
import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from kanat.bundles.parse import (
    BundleError,
    counters,
    date,
    instant,
    label,
    load,
    need,
    number,
    text,
    units,
)
from kanat.core import audit
from kanat.core import services as core_services
from kanat.core.errors import RuleViolation
from kanat.core.models import Hub, Operator, User
from kanat.core.roles import Capability
from kanat.core.services import require
from kanat.fleet import services as fleet_services
from kanat.fleet.models import (
    Aircraft,
    AircraftType,
    Flight,
    FlightSource,
    Installation,
    Part,
    PartNumber,
    PartTracking,
    Position,
    Variant,
)
from kanat.maintenance import services as mx_services
from kanat.maintenance.models import Compliance, ScheduleFrom, Task, TaskKind


@dataclass
class ImportResult:
    sha256: str
    created: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    unchanged: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def summary(self) -> str:
        made = ", ".join(f"{n} {k}" for k, n in self.created.items() if n) or "nothing new"
        same = sum(self.unchanged.values())
        return f"imported {made}; {same} entries already present and unchanged"


def import_bundle(raw: bytes, *, actor: User | None = None) -> ImportResult:
    """Import a bundle; raise BundleError (and change nothing) on the first fault."""
    require(actor, Capability.IMPORT_BUNDLE)
    bundle = load(raw)
    result = ImportResult(sha256=hashlib.sha256(raw).hexdigest())
    with transaction.atomic():
        if not Hub.objects.exists():
            core_services.ensure_hub(actor=actor, code="HUB", name="Kanat hub")
        ctx = _Context(actor=actor, result=result)
        ctx.operators(bundle.operators)
        ctx.part_numbers(bundle.part_numbers)
        ctx.variants(bundle.variants)
        ctx.aircraft(bundle.aircraft)
        ctx.parts(bundle.parts)
        ctx.installations(bundle.installations)
        ctx.flights(bundle.flights)
        ctx.tasks(bundle.tasks)
        ctx.compliance(bundle.compliance)
        if any(result.created.values()):
            hub = Hub.objects.get()
            audit.record(
                actor=actor,
                action="bundles.import",
                instance=hub,
                via="bundle import",
                before=None,
                after={"sha256": result.sha256, "created": dict(result.created)},
            )
    return result


def _same(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


@dataclass
class _Context:
    actor: User | None
    result: ImportResult
    op_by_code: dict[str, Operator] = field(default_factory=dict)
    pn_by_code: dict[str, PartNumber] = field(default_factory=dict)
    variant_by_code: dict[str, Variant] = field(default_factory=dict)
    aircraft_by_serial: dict[str, Aircraft] = field(default_factory=dict)
    part_by_key: dict[tuple[str, str], Part] = field(default_factory=dict)
    task_by_code: dict[str, Any] = field(default_factory=dict)

    def _wrap(self, where: str, exc: RuleViolation) -> BundleError:
        suffix = f".{exc.field}" if exc.field and not isinstance(exc, BundleError) else ""
        return BundleError(f"{where}{suffix}", exc.message)

    # -- reference data ---------------------------------------------------------------

    def operators(self, entries: list[dict[str, Any]]) -> None:
        existing = {
            o.code: o for o in Operator.objects.filter(code__in=[e.get("code") for e in entries])
        }
        for i, e in enumerate(entries):
            where = label("operators", i, e)
            code, name = text(e, where, "code"), text(e, where, "name", required=False)
            if code in self.op_by_code:
                raise BundleError(f"{where}.code", f"operator {code} is listed twice")
            op = existing.get(code)
            if op is not None:
                if name and op.name != name:
                    raise BundleError(
                        f"{where}.name",
                        f"{name!r} contradicts the existing operator {code} ({op.name!r})",
                    )
                self.result.unchanged["operators"] += 1
            else:
                op = core_services.create_operator(actor=self.actor, code=code, name=name or code)
                self.result.created["operators"] += 1
            self.op_by_code[code] = op

    def part_numbers(self, entries: list[dict[str, Any]]) -> None:
        existing = {
            p.pn: p for p in PartNumber.objects.filter(pn__in=[e.get("pn") for e in entries])
        }
        for i, e in enumerate(entries):
            where = label("part_numbers", i, e)
            pn = text(e, where, "pn")
            desc = text(e, where, "description", required=False)
            tracking = text(e, where, "tracking")
            if tracking not in PartTracking.values:
                raise BundleError(
                    f"{where}.tracking",
                    f"{tracking!r} is not one of {', '.join(PartTracking.values)}",
                )
            if pn in self.pn_by_code:
                raise BundleError(f"{where}.pn", f"part number {pn} is listed twice")
            obj = existing.get(pn)
            if obj is not None:
                if obj.tracking != tracking:
                    raise BundleError(
                        f"{where}.tracking",
                        f"{tracking!r} contradicts the existing {pn} ({obj.tracking!r})",
                    )
                if desc and obj.description != desc:
                    raise BundleError(
                        f"{where}.description",
                        f"{desc!r} contradicts the existing {pn} ({obj.description!r})",
                    )
                self.result.unchanged["part_numbers"] += 1
            else:
                obj = fleet_services.create_part_number(
                    actor=self.actor, pn=pn, description=desc or pn, tracking=tracking
                )
                self.result.created["part_numbers"] += 1
            self.pn_by_code[pn] = obj

    def _pn(self, pn: Any, where: str) -> PartNumber:
        if pn not in self.pn_by_code:
            found = PartNumber.objects.filter(pn=pn).first() if isinstance(pn, str) else None
            if found is None:
                raise BundleError(where, f"unknown part number {pn!r}")
            self.pn_by_code[pn] = found
        return self.pn_by_code[pn]

    def variants(self, entries: list[dict[str, Any]]) -> None:
        for i, e in enumerate(entries):
            where = label("variants", i, e)
            code, type_code = text(e, where, "code"), text(e, where, "type")
            positions = e.get("positions", [])
            if not isinstance(positions, list):
                raise BundleError(f"{where}.positions", "must be a list")
            if code in self.variant_by_code:
                raise BundleError(f"{where}.code", f"variant {code} is listed twice")
            variant = Variant.objects.select_related("aircraft_type").filter(code=code).first()
            if variant is not None:
                if variant.aircraft_type.code != type_code:
                    raise BundleError(
                        f"{where}.type",
                        f"{type_code!r} contradicts the existing {code} "
                        f"(a {variant.aircraft_type.code})",
                    )
                self.result.unchanged["variants"] += 1
            else:
                atype = AircraftType.objects.filter(code=type_code).first()
                if atype is None:
                    atype = fleet_services.create_aircraft_type(
                        actor=self.actor, code=type_code, name=type_code
                    )
                variant = fleet_services.create_variant(
                    actor=self.actor, aircraft_type=atype, code=code
                )
                self.result.created["variants"] += 1
            self.variant_by_code[code] = variant
            have = {
                p.code: p
                for p in Position.objects.filter(variant=variant).prefetch_related("part_numbers")
            }
            seen: set[str] = set()
            for j, p in enumerate(positions):
                pw = f"{where}.positions[{j}]"
                if not isinstance(p, dict):
                    raise BundleError(pw, "must be an object")
                pcode, ata = text(p, pw, "code"), text(p, pw, "ata")
                if pcode in seen:
                    raise BundleError(f"{pw}.code", f"position {pcode} is listed twice")
                seen.add(pcode)
                allowed = p.get("part_numbers", [])
                if not isinstance(allowed, list):
                    raise BundleError(f"{pw}.part_numbers", "must be a list of part numbers")
                pns = [self._pn(x, f"{pw}.part_numbers[{k}]") for k, x in enumerate(allowed)]
                for k, pn in enumerate(pns):
                    if pn.tracking != PartTracking.SERIAL:
                        raise BundleError(f"{pw}.part_numbers[{k}]", f"{pn.pn} is not serialised")
                pos = have.get(pcode)
                if pos is None:
                    fleet_services.create_position(
                        actor=self.actor, variant=variant, code=pcode, ata=ata, part_numbers=pns
                    )
                    self.result.created["positions"] += 1
                    continue
                if pos.ata != ata:
                    raise BundleError(
                        f"{pw}.ata",
                        f"{ata!r} contradicts the existing {code}/{pcode} ({pos.ata!r})",
                    )
                current = {x.pn for x in pos.part_numbers.all()}
                for pn in pns:
                    if pn.pn not in current:
                        fleet_services.allow_part_number(
                            actor=self.actor, position=pos, part_number=pn
                        )
                        self.result.created["allowed part numbers"] += 1

    def _variant(self, code: Any, where: str) -> Variant:
        if code not in self.variant_by_code:
            found = Variant.objects.filter(code=code).first() if isinstance(code, str) else None
            if found is None:
                raise BundleError(where, f"unknown variant {code!r}")
            self.variant_by_code[code] = found
        return self.variant_by_code[code]

    def _operator(self, code: Any, where: str) -> Operator:
        if code not in self.op_by_code:
            found = Operator.objects.filter(code=code).first() if isinstance(code, str) else None
            if found is None:
                raise BundleError(where, f"unknown operator {code!r}")
            self.op_by_code[code] = found
        return self.op_by_code[code]

    # -- fleet ------------------------------------------------------------------------

    def aircraft(self, entries: list[dict[str, Any]]) -> None:
        existing = {
            a.serial: a
            for a in Aircraft.objects.select_related("variant", "operator").filter(
                serial__in=[e.get("serial") for e in entries]
            )
        }
        for i, e in enumerate(entries):
            where = label("aircraft", i, e)
            serial = text(e, where, "serial")
            variant = self._variant(need(e, where, "variant"), f"{where}.variant")
            operator = self._operator(need(e, where, "operator"), f"{where}.operator")
            delivered = date(need(e, where, "delivered"), f"{where}.delivered")
            opening = counters(e.get("opening"), f"{where}.opening")
            rate = units(e.get("planned_rate"), f"{where}.planned_rate", ("FH", "FC"), whole=False)
            if serial in self.aircraft_by_serial:
                raise BundleError(f"{where}.serial", f"aircraft {serial} is listed twice")
            values = {
                "variant": variant.code,
                "operator": operator.code,
                "delivered": delivered,
                "opening_fh": opening.get("FH", 0.0),
                "opening_fc": int(opening.get("FC", 0)),
                "planned_fh_per_day": rate.get("FH"),
                "planned_fc_per_day": rate.get("FC"),
            }
            obj = existing.get(serial)
            if obj is not None:
                have = {
                    "variant": obj.variant.code,
                    "operator": obj.operator.code,
                    "delivered": obj.delivered,
                    "opening_fh": obj.opening_fh,
                    "opening_fc": obj.opening_fc,
                    "planned_fh_per_day": obj.planned_fh_per_day,
                    "planned_fc_per_day": obj.planned_fc_per_day,
                }
                for key, value in values.items():
                    same = (
                        _same(value, have[key])
                        if isinstance(value, float) or value is None
                        else value == have[key]
                    )
                    if not same:
                        raise BundleError(
                            f"{where}.{key}",
                            f"{value!r} contradicts the existing aircraft {serial} ({have[key]!r})",
                        )
                self.result.unchanged["aircraft"] += 1
            else:
                try:
                    obj = fleet_services.register_aircraft(
                        actor=self.actor,
                        serial=serial,
                        variant=variant,
                        operator=operator,
                        delivered=delivered,
                        opening_fh=values["opening_fh"],
                        opening_fc=values["opening_fc"],
                        planned_fh_per_day=rate.get("FH"),
                        planned_fc_per_day=rate.get("FC"),
                    )
                except RuleViolation as exc:
                    raise self._wrap(where, exc) from None
                self.result.created["aircraft"] += 1
            self.aircraft_by_serial[serial] = obj

    def _aircraft(self, serial: Any, where: str) -> Aircraft:
        if serial not in self.aircraft_by_serial:
            found = (
                Aircraft.objects.select_related("variant").filter(serial=serial).first()
                if isinstance(serial, str)
                else None
            )
            if found is None:
                raise BundleError(where, f"unknown aircraft {serial!r}")
            self.aircraft_by_serial[serial] = found
        return self.aircraft_by_serial[serial]

    def parts(self, entries: list[dict[str, Any]]) -> None:
        keys = [(e.get("pn"), e.get("serial")) for e in entries]
        existing = {
            (p.part_number.pn, p.serial): p
            for p in Part.objects.select_related("part_number").filter(
                serial__in=[k[1] for k in keys if isinstance(k[1], str)]
            )
        }
        for i, e in enumerate(entries):
            where = label("parts", i, e)
            pn = self._pn(need(e, where, "pn"), f"{where}.pn")
            serial = text(e, where, "serial")
            manufactured = date(need(e, where, "manufactured"), f"{where}.manufactured")
            opening = counters(e.get("opening"), f"{where}.opening")
            key = (pn.pn, serial)
            if key in self.part_by_key:
                raise BundleError(f"{where}.serial", f"part {pn.pn}/{serial} is listed twice")
            obj = existing.get(key)
            if obj is not None:
                for name, value, have in (
                    ("manufactured", manufactured, obj.manufactured),
                    ("opening.FH", opening.get("FH", 0.0), obj.opening_fh),
                    ("opening.FC", int(opening.get("FC", 0)), obj.opening_fc),
                ):
                    if (not _same(value, have)) if isinstance(value, float) else value != have:
                        raise BundleError(
                            f"{where}.{name}",
                            f"{value!r} contradicts the existing part {pn.pn}/{serial} ({have!r})",
                        )
                self.result.unchanged["parts"] += 1
            else:
                try:
                    obj = fleet_services.register_part(
                        actor=self.actor,
                        part_number=pn,
                        serial=serial,
                        manufactured=manufactured,
                        opening_fh=opening.get("FH", 0.0),
                        opening_fc=int(opening.get("FC", 0)),
                    )
                except RuleViolation as exc:
                    raise self._wrap(where, exc) from None
                self.result.created["parts"] += 1
            self.part_by_key[key] = obj

    def _part(self, pn: Any, serial: Any, where: str) -> Part:
        key = (pn, serial)
        if key not in self.part_by_key:
            found = (
                Part.objects.select_related("part_number")
                .filter(part_number__pn=pn, serial=serial)
                .first()
                if isinstance(pn, str) and isinstance(serial, str)
                else None
            )
            if found is None:
                raise BundleError(where, f"unknown part {pn}/{serial}")
            self.part_by_key[key] = found
        return self.part_by_key[key]

    def installations(self, entries: list[dict[str, Any]]) -> None:
        rows = []
        positions: dict[tuple[int, str], Position] = {
            (p.variant_id, p.code): p
            for p in Position.objects.filter(
                variant_id__in={a.variant_id for a in self.aircraft_by_serial.values()}
                | {v.pk for v in self.variant_by_code.values()}
            ).prefetch_related("part_numbers")
        }
        for i, e in enumerate(entries):
            where = label("installations", i, e)
            part = self._part(need(e, where, "pn"), need(e, where, "serial"), f"{where}.serial")
            ac = self._aircraft(need(e, where, "aircraft"), f"{where}.aircraft")
            pcode = text(e, where, "position")
            pos = positions.get((ac.variant_id, pcode))
            if pos is None:
                pos = Position.objects.filter(variant_id=ac.variant_id, code=pcode).first()
                if pos is None:
                    raise BundleError(
                        f"{where}.position", f"{ac.variant.code} has no position {pcode!r}"
                    )
                positions[(ac.variant_id, pcode)] = pos
            if part.part_number_id not in {p.pk for p in pos.part_numbers.all()}:
                raise BundleError(
                    f"{where}.position",
                    f"{part.part_number.pn} is not allowed in {ac.variant.code} position {pcode}",
                )
            start = instant(need(e, where, "installed_at"), f"{where}.installed_at")
            end = e.get("removed_at")
            end = instant(end, f"{where}.removed_at") if end is not None else None
            if end is not None and end <= start:
                raise BundleError(f"{where}.removed_at", "is not after installed_at")
            if start.date() < part.manufactured:
                raise BundleError(
                    f"{where}.installed_at", f"before {part} was manufactured ({part.manufactured})"
                )
            rows.append((where, part, ac, pos, start, end))
        # existing rows of the parts and positions concerned
        existing = list(
            Installation.objects.filter(part__in={r[1].pk for r in rows}).values_list(
                "part_id", "aircraft_id", "position_id", "installed_at", "removed_at"
            )
        ) + list(
            Installation.objects.filter(aircraft__in={r[2].pk for r in rows}).values_list(
                "part_id", "aircraft_id", "position_id", "installed_at", "removed_at"
            )
        )
        existing = list(set(existing))
        known = set(existing)
        fresh = []
        for where, part, ac, pos, start, end in rows:
            key = (part.pk, ac.pk, pos.pk, start, end)
            if key in known:
                self.result.unchanged["installations"] += 1
                continue
            fresh.append((where, part, ac, pos, start, end))
            known.add(key)
        far = dt.datetime.max.replace(tzinfo=dt.UTC)
        by_part: dict[int, list[tuple[dt.datetime, dt.datetime, str]]] = defaultdict(list)
        by_slot: dict[tuple[int, int], list[tuple[dt.datetime, dt.datetime, str]]] = defaultdict(
            list
        )
        for p_id, a_id, pos_id, s, e in existing:
            by_part[p_id].append((s, e or far, "an installation already recorded"))
            by_slot[(a_id, pos_id)].append((s, e or far, "an installation already recorded"))
        for where, part, ac, pos, start, end in fresh:
            by_part[part.pk].append((start, end or far, where))
            by_slot[(ac.pk, pos.pk)].append((start, end or far, where))
        for fresh_where, what, groups in (
            ("part", "is installed in two places at once", by_part),
            ("position", "holds two parts at once", by_slot),
        ):
            for spans in groups.values():
                spans.sort(key=lambda s: (s[0], s[1]))
                for a, b in zip(spans, spans[1:], strict=False):
                    if b[0] < a[1]:
                        culprit = b[2] if b[2].startswith("installations[") else a[2]
                        other = a[2] if culprit == b[2] else b[2]
                        raise BundleError(culprit, f"the {fresh_where} {what}: it overlaps {other}")
        objs = [
            Installation(
                part=part,
                aircraft=ac,
                position=pos,
                installed_at=start,
                removed_at=end,
                removal_reason="record" if end else "",
                reference="bundle import",
            )
            for _, part, ac, pos, start, end in fresh
        ]
        created = Installation.objects.bulk_create(objs, batch_size=2000)
        # owner: the operator of the aircraft of the part's latest installation
        latest: dict[int, tuple[dt.datetime, int]] = {}
        for inst in created:
            if inst.part_id not in latest or inst.installed_at > latest[inst.part_id][0]:
                latest[inst.part_id] = (inst.installed_at, inst.aircraft.operator_id)
        for part_id, (_, op_id) in latest.items():
            Part.objects.filter(pk=part_id, operator__isnull=True).update(operator_id=op_id)
        by_operator: dict[int, list[Installation]] = defaultdict(list)
        for inst in created:
            by_operator[inst.aircraft.operator_id].append(inst)
        for op_id, group in by_operator.items():
            audit.record_many(
                actor=self.actor,
                action="fleet.install_part",
                instances=group,
                operator=op_id,
                via="bundle import",
            )
        self.result.created["installations"] += len(created)

    def flights(self, entries: list[dict[str, Any]]) -> None:
        per_aircraft: dict[int, list[tuple[dt.datetime, dt.datetime, int, str]]] = defaultdict(list)
        aircraft: dict[int, Aircraft] = {}
        for i, e in enumerate(entries):
            where = label("flights", i, e)
            ac = self._aircraft(need(e, where, "aircraft"), f"{where}.aircraft")
            takeoff = instant(need(e, where, "takeoff"), f"{where}.takeoff")
            landing = instant(need(e, where, "landing"), f"{where}.landing")
            if landing <= takeoff:
                raise BundleError(f"{where}.landing", "lands before (or when) it takes off")
            cycles = e.get("cycles", 1)
            cycles = int(number(cycles, f"{where}.cycles", whole=True))
            per_aircraft[ac.pk].append((takeoff, landing, cycles, where))
            aircraft[ac.pk] = ac
        for ac_id, rows in per_aircraft.items():
            rows.sort()
            have = sorted(
                Flight.objects.filter(aircraft_id=ac_id).values_list("takeoff", "landing", "cycles")
            )
            have_set = set(have)
            starts = [h[0] for h in have]
            new = []
            for takeoff, landing, cycles, where in rows:
                if (takeoff, landing, cycles) in have_set:
                    self.result.unchanged["flights"] += 1
                    continue
                k = bisect.bisect_left(starts, landing)
                if k > 0 and have[k - 1][1] > takeoff:
                    raise BundleError(
                        where,
                        f"overlaps a flight of {aircraft[ac_id].serial} already recorded "
                        f"({have[k - 1][0].isoformat()} – {have[k - 1][1].isoformat()})",
                    )
                new.append((takeoff, landing, cycles, where))
            for a, b in zip(new, new[1:], strict=False):
                if b[0] < a[1]:
                    raise BundleError(b[3], f"overlaps {a[3]} of the same aircraft")
            if not new:
                continue
            created = Flight.objects.bulk_create(
                [
                    Flight(
                        aircraft_id=ac_id,
                        takeoff=t,
                        landing=land,
                        cycles=c,
                        source=FlightSource.BUNDLE,
                        source_ref=f"bundle {self.result.sha256[:12]}",
                    )
                    for t, land, c, _ in new
                ],
                batch_size=5000,
            )
            for f in created:
                f.aircraft = aircraft[ac_id]
            audit.record_many(
                actor=self.actor,
                action="fleet.record_flight",
                instances=created,
                operator=aircraft[ac_id].operator_id,
                via="bundle import",
            )
            self.result.created["flights"] += len(created)

    # -- programme --------------------------------------------------------------------

    def tasks(self, entries: list[dict[str, Any]]) -> None:
        seen: set[str] = set()
        for i, e in enumerate(entries):
            where = label("tasks", i, e)
            code = text(e, where, "code")
            if code in seen:
                raise BundleError(f"{where}.code", f"task {code} is listed twice")
            seen.add(code)
            applies = need(e, where, "applies_to")
            if not isinstance(applies, dict):
                raise BundleError(
                    f"{where}.applies_to", 'must be {"variants": [...]} or {"part_number": ...}'
                )
            variants, pn = [], None
            if "variants" in applies and "part_number" in applies:
                raise BundleError(f"{where}.applies_to", "names both variants and a part number")
            if "variants" in applies:
                if not isinstance(applies["variants"], list) or not applies["variants"]:
                    raise BundleError(f"{where}.applies_to.variants", "must be a non-empty list")
                variants = [
                    self._variant(v, f"{where}.applies_to.variants[{k}]")
                    for k, v in enumerate(applies["variants"])
                ]
            elif "part_number" in applies:
                pn = self._pn(applies["part_number"], f"{where}.applies_to.part_number")
            else:
                raise BundleError(f"{where}.applies_to", "names neither variants nor a part number")
            kind = text(e, where, "kind")
            threshold = units(e.get("threshold"), f"{where}.threshold")
            interval = units(e.get("interval"), f"{where}.interval")
            tolerance = units(e.get("tolerance"), f"{where}.tolerance")
            if kind in (TaskKind.ONCE, TaskKind.LIFE_LIMIT) and not threshold:
                raise BundleError(f"{where}.threshold", f"a {kind} task needs a threshold")
            try:
                rev, changed = mx_services.define_task(
                    actor=self.actor,
                    code=code,
                    title=text(e, where, "title", required=False) or code,
                    ata=str(e.get("ata", "") or ""),
                    kind=kind,
                    variants=variants,
                    part_number=pn,
                    threshold=threshold,
                    interval=interval,
                    tolerance=tolerance,
                    schedule_from=e.get("schedule_from") or ScheduleFrom.LAST_DONE,
                )
            except RuleViolation as exc:
                raise self._wrap(where, exc) from None
            if changed:
                self.result.created["task revisions"] += 1
            else:
                self.result.unchanged["tasks"] += 1
            self.task_by_code[code] = rev

    def compliance(self, entries: list[dict[str, Any]]) -> None:
        tasks = {t.code: t for t in Task.objects.filter(code__in=[e.get("task") for e in entries])}
        rows = []
        for i, e in enumerate(entries):
            where = label("compliance", i, e)
            code = need(e, where, "task")
            task = tasks.get(code)
            if task is None:
                raise BundleError(f"{where}.task", f"unknown task {code!r}")
            has_ac, has_part = e.get("aircraft") is not None, e.get("part") is not None
            if has_ac == has_part:
                raise BundleError(where, "names exactly one of aircraft or part")
            ac = part = None
            if has_ac:
                ac = self._aircraft(e["aircraft"], f"{where}.aircraft")
            else:
                p = e["part"]
                if not isinstance(p, dict):
                    raise BundleError(f"{where}.part", 'must be {"pn", "serial"}')
                part = self._part(
                    need(p, f"{where}.part", "pn"),
                    need(p, f"{where}.part", "serial"),
                    f"{where}.part",
                )
            done_at = instant(need(e, where, "done_at"), f"{where}.done_at")
            stated = counters(e.get("counters"), f"{where}.counters")
            rows.append((where, task, ac, part, done_at, stated))
        existing = set(
            Compliance.objects.filter(task__in=[r[1] for r in rows]).values_list(
                "task_id", "aircraft_id", "part_id", "done_at", "stated_fh", "stated_fc"
            )
        )
        for where, task, ac, part, done_at, stated in rows:
            key = (
                task.pk,
                ac.pk if ac else None,
                part.pk if part else None,
                done_at,
                stated.get("FH"),
                stated.get("FC"),
            )
            if key in existing:
                self.result.unchanged["compliance"] += 1
                continue
            try:
                mx_services.record_compliance(
                    actor=self.actor,
                    task=task,
                    done_at=done_at,
                    aircraft=ac,
                    part=part,
                    stated=stated or None,
                    reference="bundle import",
                    performed_by_label="bundle import",
                )
            except RuleViolation as exc:
                raise self._wrap(where, exc) from None
            existing.add(key)
            self.result.created["compliance"] += 1
