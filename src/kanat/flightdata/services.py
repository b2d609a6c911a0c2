"""Importing a flight log: one transaction, all or nothing, idempotent by content.

``import_flight_log`` reads the file with the Django-free core (``kanat.flightlogs``),
checks it against the aircraft type's limits, records its flights through
``fleet.services.record_flights`` (so overlaps with recorded flights are refused there, and
counters and the forecast move), stores the log's findings, and raises on the aircraft the
task its type names for a finding (e.g. a hard-landing inspection due the day it happened).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from typing import Any

from django.db import IntegrityError, transaction

from kanat import flightlogs
from kanat.core import audit
from kanat.core.errors import Conflict, RuleViolation
from kanat.core.models import User
from kanat.core.roles import Capability
from kanat.core.services import require
from kanat.engine.timebase import from_us
from kanat.fleet.models import Aircraft, Flight, FlightSource
from kanat.fleet.services import FlightInput, record_flights
from kanat.flightdata.models import Finding, FlightLog
from kanat.flightlogs.findings import Limits
from kanat.flightlogs.plots import plot_data
from kanat.maintenance.models import RaisedItem, Task
from kanat.work import services as work_services
from kanat.work.models import Defect, DefectSource

#: the largest log accepted (a 30-hour MALE flight logs gigabytes)
MAX_LOG_BYTES = int(os.environ.get("KANAT_MAX_LOG_BYTES", str(8 << 30)))


def file_sha256(path: str | os.PathLike[str]) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def type_limits(aircraft: Aircraft) -> Limits:
    try:
        return Limits.from_mapping(aircraft.variant.aircraft_type.limits)
    except ValueError as exc:
        raise RuleViolation(
            f"type {aircraft.variant.aircraft_type.code}: {exc}", field="limits"
        ) from None


@transaction.atomic
def import_flight_log(
    *, actor: User | None, aircraft: Aircraft, path: str | os.PathLike[str], name: str = ""
) -> tuple[FlightLog, bool]:
    """Import the log at ``path`` for ``aircraft``. Returns the log and whether it was
    created now: the same content imported again (under any name) changes nothing.

    Refused with a message naming the problem, and nothing written: a file we cannot read,
    a log that gives flights but no wall-clock time, flights overlapping ones already
    recorded for the aircraft, the same log already imported for another aircraft."""
    require(actor, Capability.RECORD_FLIGHT)
    if actor is not None and actor.operator_id not in (None, aircraft.operator_id):
        raise RuleViolation(f"aircraft {aircraft.serial} is not yours", field="aircraft")
    name = name or os.path.basename(os.fspath(path))
    size = os.path.getsize(path)
    if size > MAX_LOG_BYTES:
        raise RuleViolation(
            f"{name}: {size:,} bytes is more than the {MAX_LOG_BYTES:,} a log may have",
            field="file",
        )
    sha = file_sha256(path)
    # the aircraft's row is the lock: two uploads of one file for it run one after the other
    aircraft = (
        Aircraft.objects.select_for_update()
        .select_related("variant__aircraft_type")
        .get(pk=aircraft.pk)
    )
    existing = (
        FlightLog.objects.select_related("aircraft")
        .filter(operator_id=aircraft.operator_id, sha256=sha)
        .first()
    )
    if existing is not None:
        if existing.aircraft_id != aircraft.pk:
            raise Conflict(
                f"{name}: this log (SHA-256 {sha[:12]}…) was already imported for "
                f"{existing.aircraft.serial} as {existing.name}",
                field="file",
            )
        return existing, False
    limits = type_limits(aircraft)
    try:
        data, extraction, found = flightlogs.analyse(path, limits)
    except flightlogs.LogError as exc:
        raise RuleViolation(f"{name}: {exc}", field="file") from None
    if extraction.flights and data.start_us is None:
        raise RuleViolation(
            f"{name}: the log has {len(extraction.flights)} flight(s) but no wall-clock time "
            "(no GPS time in it), so they cannot be placed in time; import its flights as a "
            "flights CSV instead",
            field="file",
        )
    summary = flightlogs.summary(data, extraction, found)
    try:
        with transaction.atomic():
            log = FlightLog.objects.create(
                operator_id=aircraft.operator_id,
                aircraft=aircraft,
                sha256=sha,
                name=name[:255],
                size=size,
                format=data.format,
                vehicle_id=(data.vehicle_id or "")[:200],
                started_at=_when(data.start_us, data.first_t),
                duration_s=summary["duration_s"],
                flight_rule=extraction.rule,
                summary=summary,
                plot=plot_data(data),
                imported_by=actor,
            )
    except IntegrityError:  # the same file, imported at this moment by another upload
        raise Conflict(
            f"{name}: this log is being imported by another upload right now; nothing imported",
            field="file",
        ) from None
    origin = data.start_us or 0
    try:
        flights = record_flights(
            actor=actor,
            aircraft=aircraft,
            flights=[
                FlightInput(
                    takeoff=from_us(origin + f.takeoff),
                    landing=from_us(origin + f.landing),
                    cycles=f.cycles,
                    source_ref=log.source_ref,
                )
                for f in extraction.flights
            ],
            source=FlightSource.LOG,
        )
    except Conflict as exc:
        raise Conflict(f"{name}: {exc}", field="file") from None
    flights.sort(key=lambda f: f.takeoff)
    _store_findings(actor, log, aircraft, found, flights, data.start_us, data.first_t)
    audit.record(
        actor=actor,
        action="flightdata.import_log",
        instance=log,
        operator=aircraft.operator_id,
        after={
            "sha256": sha,
            "name": log.name,
            "format": log.format,
            "flights": len(flights),
            "findings": len(found),
        },
    )
    return log, True


def _when(start_us: int | None, t: int) -> dt.datetime | None:
    return None if start_us is None else from_us(start_us + t)


def _store_findings(
    actor: User | None,
    log: FlightLog,
    aircraft: Aircraft,
    found: list[flightlogs.Finding],
    flights: list[Flight],
    start_us: int | None,
    first_t: int,
) -> None:
    tasks: dict[str, Any] = aircraft.variant.aircraft_type.finding_tasks or {}
    raised: dict[str, RaisedItem] = {}
    rows: list[Finding] = []
    for f in found:
        at = _when(start_us, f.t)
        item = None
        code = tasks.get(f.code)
        if code and at is not None:
            if code not in raised:
                task = Task.objects.filter(code=code).first()
                if task is None:
                    raise RuleViolation(
                        f"type {aircraft.variant.aircraft_type.code} raises task {code} for "
                        f"{f.code}, but there is no such task",
                        field="finding_tasks",
                    )
                raised[code] = RaisedItem.objects.create(
                    aircraft=aircraft,
                    task=task,
                    raised_at=at,
                    due_by=at.date(),
                    reason=f"{f.code}: {f.message}"[:300],
                    source_ref=log.source_ref,
                    created_by=actor,
                )
                audit.record(
                    actor=actor,
                    action="maintenance.raise_item",
                    instance=raised[code],
                    operator=aircraft.operator_id,
                    after={"task": code, "aircraft": aircraft.serial, "due_by": str(at.date())},
                )
            item = raised[code]
        rows.append(
            Finding(
                operator_id=aircraft.operator_id,
                log=log,
                aircraft=aircraft,
                flight=flights[f.flight]
                if f.flight is not None and f.flight < len(flights)
                else None,
                code=f.code,
                message=f.message[:300],
                at=at,
                t_s=(f.t - first_t) / 1e6,
                series=f.series,
                sample=f.sample,
                value=f.value,
                limit=f.limit,
                raised=item,
            )
        )
    Finding.objects.bulk_create(rows)


def finding_ref(finding: Finding, log: FlightLog) -> str:
    """How a defect raised from a finding names it (its ``source_ref``)."""
    return f"flight log finding #{finding.pk} ({finding.code}, {log.name})"


@transaction.atomic
def raise_finding_defect(
    *, actor: User | None, finding: Finding, ata: str, description: str = ""
) -> tuple[Defect, bool]:
    """A defect raised from a flight-log finding, once: the finding is locked while its
    defect is looked for, so a double click raises one. Returns (defect, created)."""
    finding = (
        Finding.objects.select_for_update(of=("self",))
        .select_related("log", "aircraft")
        .get(pk=finding.pk)
    )
    ref = finding_ref(finding, finding.log)
    existing = Defect.objects.filter(source_ref=ref).first()
    if existing is not None:
        return existing, False
    defect = work_services.raise_defect(
        actor=actor,
        aircraft=finding.aircraft,
        ata=ata,
        description=description or f"{finding.code}: {finding.message}",
        source=DefectSource.FLIGHT,
        found_at=finding.at or finding.log.imported_at,
        source_ref=ref,
    )
    return defect, True
