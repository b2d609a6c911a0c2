"""The write path of maintenance execution: packages, cards, sign-offs, defects, release.

Every function runs in one transaction and writes its audit event there. Signatures are
checked against the signer's authority at the instant of signing
(``kanat.people.services.signing_authority``), stored append-only and signed into the
operator's hash chain. Two people acting on the same card, package or defect at once are
serialised by a row lock: the second sees what the first did and gets a ``Conflict``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from kanat.core import audit
from kanat.core.errors import Conflict, RuleViolation
from kanat.core.models import User
from kanat.core.roles import Capability, role_allows
from kanat.core.services import at_or_now, require
from kanat.fleet import services as fleet_services
from kanat.fleet.models import Aircraft, Installation, Part, Position, RemovalReason
from kanat.maintenance import services as mx_services
from kanat.maintenance.models import Task, TaskKind, TaskRevision
from kanat.people.models import Privilege
from kanat.people.services import Authority, chapter_of, signing_authority
from kanat.records import chain
from kanat.training import selectors as training_selectors
from kanat.work import selectors
from kanat.work.models import (
    MEL_DAYS,
    CardStatus,
    Defect,
    DefectClosure,
    DefectSource,
    DefectStatus,
    Deferral,
    MelCategory,
    NumberSeries,
    PackageStatus,
    Release,
    SignOff,
    SignOffKind,
    StepKind,
    SupervisedStep,
    SupervisionDecline,
    TaskCard,
    TaskStep,
    WorkPackage,
)

# removals done through a task card: why the part came off (reliability reads these)
CARD_REMOVAL_REASONS = (
    RemovalReason.SCHEDULED,
    RemovalReason.UNSCHEDULED,
    RemovalReason.ROBBERY,
)
STANDARD_STATEMENT = (
    "Certifies that the work specified in this package was carried out in accordance with "
    "the approved data and that the aircraft is ready for release to service in respect of "
    "that work."
)
# a completed package takes more cards (a defect its work found, rectified before the
# release): it goes back to in work
EDITABLE = (
    PackageStatus.DRAFT,
    PackageStatus.OPEN,
    PackageStatus.IN_WORK,
    PackageStatus.COMPLETED,
)
WORKING = (PackageStatus.OPEN, PackageStatus.IN_WORK)


@dataclass(frozen=True)
class DueRef:
    """A due item chosen for a package: a task on the aircraft, or on one of its parts."""

    task: Task
    part: Part | None = None


def next_number(prefix: str, at: dt.datetime) -> str:
    """The next number of a yearly series (``WP-2026-0001``; build orders, NCRs and first
    articles use it too), the series row locked in the caller's transaction: gap-free, and
    two writers never take the same number."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("a number is taken inside the transaction that uses it")
    name = f"{prefix}-{at:%Y}"
    series = NumberSeries.objects.select_for_update().filter(pk=name).first()
    if series is None:
        NumberSeries.objects.get_or_create(name=name)
        series = NumberSeries.objects.select_for_update().get(pk=name)
    series.last += 1
    NumberSeries.objects.filter(pk=name).update(last=series.last)
    return f"{name}-{series.last:04d}"


def _authority(
    signer: User, privilege: str, aircraft: Aircraft, ata: str, at: dt.datetime
) -> Authority:
    return signing_authority(
        signer=signer,
        privilege=privilege,
        aircraft_type=aircraft.variant.aircraft_type,
        ata=ata,
        at=at,
    )


def _sign(
    record: Any,
    *,
    kind: str,
    aircraft: Aircraft,
    signer: User,
    authority: Authority | None,
    at: dt.datetime,
) -> None:
    chain.sign(
        record,
        kind=kind,
        operator_id=aircraft.operator_id,
        signer=signer,
        signer_label=signer.get_username(),
        qualification_ref=authority.reference if authority else "",
        at=at,
    )


# Locks are taken in one order everywhere: package, card, defect, then the fleet's part,
# aircraft and installation rows (a removal or installation step, or planning), then the
# chain head. Each locks its own row only (``of=("self",)``), not the rows joined in for
# reading.


def _locked_package(package: WorkPackage | int) -> WorkPackage:
    pk = package if isinstance(package, int) else package.pk
    return (
        WorkPackage.objects.select_for_update(of=("self",))
        .select_related("aircraft__variant__aircraft_type", "aircraft__operator")
        .get(pk=pk)
    )


def _locked_card(card: TaskCard) -> TaskCard:
    """The card's package locked, then the card."""
    package = _locked_package(card.package_id)
    locked = TaskCard.objects.select_for_update().get(pk=card.pk)
    locked.package = package
    return locked


def _locked_aircraft(pk: int) -> Aircraft:
    return (
        Aircraft.objects.select_for_update(of=("self",))
        .select_related("variant__aircraft_type")
        .get(pk=pk)
    )


def _audit(actor: User | None, action: str, instance: Any, aircraft: Aircraft, **kw: Any) -> None:
    audit.record(
        actor=actor, action=f"work.{action}", instance=instance, operator=aircraft.operator_id, **kw
    )


# --- packages and cards --------------------------------------------------------------


def _revision_for(task: Task, at: dt.datetime) -> TaskRevision:
    rev = mx_services.revision_in_force(task, at)
    if rev is None:
        raise RuleViolation(f"task {task.code} has no revision in force", field="task")
    return rev


def _check_applies(
    rev: TaskRevision, aircraft: Aircraft, part: Part | None, at: dt.datetime
) -> None:
    code = rev.task.code
    if rev.part_number_id is not None:
        if part is None:
            raise RuleViolation(f"task {code} is a part's task: name the part", field="part")
        if part.part_number_id != rev.part_number_id:
            raise RuleViolation(f"task {code} does not apply to part {part}", field="part")
        fitted = Installation.objects.filter(
            part=part, aircraft=aircraft, installed_at__lte=at, removed_at__isnull=True
        ).exists()
        if not fitted:
            raise RuleViolation(f"{part} is not fitted to {aircraft.serial}", field="part")
        return
    if part is not None:
        raise RuleViolation(f"task {code} is an aircraft task: name no part", field="part")
    raised = rev.task.raised_items.filter(aircraft=aircraft).exists()
    if not raised and not rev.variants.filter(pk=aircraft.variant_id).exists():
        raise RuleViolation(
            f"task {code} does not apply to {aircraft.serial} ({aircraft.variant.code})",
            field="task",
        )


def _default_steps(rev: TaskRevision, part: Part | None) -> list[dict[str, Any]]:
    """The steps of a task with no written card: do it; for a part's life limit, replace it."""
    if part is not None and rev.kind == TaskKind.LIFE_LIMIT:
        return [
            {"kind": "remove", "text": f"Remove {part} (life limit reached)", "position": None},
            {
                "kind": "install",
                "text": f"Install a serviceable {part.part_number.pn}",
                "position": None,
            },
        ]
    target = f" on {part}" if part else ""
    return [{"kind": "action", "text": f"Carry out {rev.task.code} {rev.title}{target}"}]


def _add_steps(
    card: TaskCard, steps: Sequence[dict[str, Any]], aircraft: Aircraft, part: Part | None
) -> None:
    rows = []
    fitted = None
    if part is not None:
        fitted = (
            Installation.objects.filter(part=part, aircraft=aircraft, removed_at__isnull=True)
            .values_list("position_id", flat=True)
            .first()
        )
    for n, step in enumerate(steps, start=1):
        position_id = None
        if step.get("kind") in (StepKind.REMOVE, StepKind.INSTALL):
            code = step.get("position")
            if code:
                position = (
                    Position.objects.filter(variant=aircraft.variant_id, code=code)
                    .values_list("pk", flat=True)
                    .first()
                )
                if position is None:
                    raise RuleViolation(
                        f"step {n}: position {code} is not a position of {aircraft.variant.code}",
                        field=f"steps[{n - 1}].position",
                    )
                position_id = position
            else:
                position_id = fitted
        measure = step.get("measure") or {}
        rows.append(
            TaskStep(
                card=card,
                seq=n,
                kind=step.get("kind", StepKind.ACTION),
                text=step["text"],
                reference=step.get("reference", ""),
                measure_name=measure.get("name", ""),
                measure_unit=measure.get("unit", ""),
                measure_min=measure.get("min"),
                measure_max=measure.get("max"),
                position_id=position_id,
            )
        )
    TaskStep.objects.bulk_create(rows)


def _next_seq(package: WorkPackage) -> int:
    last = package.cards.order_by("-seq").values_list("seq", flat=True).first()
    return (last or 0) + 1


def _task_card(package: WorkPackage, ref: DueRef, at: dt.datetime) -> TaskCard:
    aircraft = package.aircraft
    rev = _revision_for(ref.task, at)
    _check_applies(rev, aircraft, ref.part, at)
    open_cards = TaskCard.objects.filter(task=ref.task, part=ref.part, package__aircraft=aircraft)
    open_cards = open_cards.exclude(package__status=PackageStatus.RELEASED)
    if ref.part is None:
        open_cards = open_cards.filter(part__isnull=True)
    taken = open_cards.select_related("package").first()
    if taken is not None:
        raise Conflict(
            f"task {ref.task.code}{' on ' + str(ref.part) if ref.part else ''} is already on "
            f"card {taken} (package {taken.package.number}, {taken.package.get_status_display()})",
            field="items",
        )
    instructions = rev.instructions or {}
    card = TaskCard.objects.create(
        package=package,
        seq=_next_seq(package),
        task=ref.task,
        revision=rev,
        part=ref.part,
        title=rev.title,
        ata=rev.ata,
        critical=rev.critical,
        tools=instructions.get("tools", []),
        parts_required=instructions.get("parts", []),
        references=instructions.get("references", []),
    )
    _add_steps(card, instructions.get("steps") or _default_steps(rev, ref.part), aircraft, ref.part)
    return card


def _defect_card(package: WorkPackage, defect: Defect) -> TaskCard:
    if defect.aircraft_id != package.aircraft_id:
        raise RuleViolation(f"{defect} is on another aircraft", field="defects")
    if defect.status == DefectStatus.CLOSED:
        raise RuleViolation(f"{defect} is closed", field="defects")
    taken = (
        defect.cards.exclude(package__status=PackageStatus.RELEASED)
        .select_related("package")
        .first()
    )
    if taken is not None:
        raise Conflict(f"{defect} is already on card {taken}", field="defects")
    card = TaskCard.objects.create(
        package=package,
        seq=_next_seq(package),
        defect=defect,
        title=f"Rectify {defect.number}: {defect.description[:150]}",
        ata=defect.ata,
        critical=False,
    )
    steps = [
        {"kind": "action", "text": f"Troubleshoot: {defect.description[:400]}"},
        {"kind": "action", "text": "Rectify, and test that the fault is cleared"},
    ]
    _add_steps(card, steps, package.aircraft, None)
    return card


@transaction.atomic
def create_package(
    *,
    actor: User | None,
    aircraft: Aircraft,
    title: str,
    items: Iterable[DueRef] = (),
    defects: Iterable[Defect] = (),
    planned_start: dt.date | None = None,
    planned_end: dt.date | None = None,
    at: dt.datetime | None = None,
) -> WorkPackage:
    """A draft package for an aircraft with a card per chosen due item and defect."""
    require(actor, Capability.PLAN_WORK)
    now = at_or_now(at)
    title = title.strip()
    if not title:
        raise RuleViolation("a work package needs a title", field="title")
    if planned_start and planned_end and planned_end < planned_start:
        raise RuleViolation(
            f"planned end {planned_end} is before planned start {planned_start}",
            field="planned_end",
        )
    items, defects = list(items), list(defects)
    if not items and not defects:
        raise RuleViolation("choose at least one due item or defect", field="items")
    aircraft = _locked_aircraft(aircraft.pk)
    package = WorkPackage.objects.create(
        number=next_number("WP", now),
        aircraft=aircraft,
        title=title,
        planned_start=planned_start,
        planned_end=planned_end,
        created_by=actor,
        created_at=now,
    )
    for ref in items:
        _task_card(package, ref, now)
    for defect in defects:
        _defect_card(package, defect)
    _audit(actor, "create_package", package, aircraft, after=audit.snapshot(package))
    return package


def _editable(package: WorkPackage) -> None:
    if package.status not in EDITABLE:
        raise Conflict(
            f"{package} is {package.get_status_display().lower()}: its cards can no longer change",
            field="package",
        )


@transaction.atomic
def add_cards(
    *,
    actor: User | None,
    package: WorkPackage,
    items: Iterable[DueRef] = (),
    defects: Iterable[Defect] = (),
    at: dt.datetime | None = None,
) -> list[TaskCard]:
    """More cards on a package not yet released; a completed one goes back to in work."""
    require(actor, Capability.PLAN_WORK)
    now = at_or_now(at)
    package = _locked_package(package)
    # then the aircraft, as create_package locks it: two planners adding the same task to
    # two packages of one aircraft take turns, and the second sees the first's card
    _locked_aircraft(package.aircraft_id)
    _editable(package)
    cards = [_task_card(package, ref, now) for ref in items]
    cards += [_defect_card(package, d) for d in defects]
    if not cards:
        raise RuleViolation("choose at least one due item or defect", field="items")
    if package.status == PackageStatus.COMPLETED:
        WorkPackage.objects.filter(pk=package.pk).update(
            status=PackageStatus.IN_WORK, completed_at=None
        )
        package.status, package.completed_at = PackageStatus.IN_WORK, None
    _audit(actor, "add_cards", package, package.aircraft, after={"cards": [c.seq for c in cards]})
    return cards


@transaction.atomic
def open_package(
    *, actor: User | None, package: WorkPackage, at: dt.datetime | None = None
) -> WorkPackage:
    """Draft to open: the package is issued to the hangar."""
    require(actor, Capability.PLAN_WORK)
    now = at_or_now(at)
    package = _locked_package(package)
    if package.status != PackageStatus.DRAFT:
        raise Conflict(
            f"{package} is already {package.get_status_display().lower()}", field="status"
        )
    if not package.cards.exists():
        raise RuleViolation(f"{package} has no task cards yet", field="cards")
    before = audit.snapshot(package)
    package.status = PackageStatus.OPEN
    package.opened_at = now
    package.save(update_fields=["status", "opened_at"])
    _audit(
        actor,
        "open_package",
        package,
        package.aircraft,
        before=before,
        after=audit.snapshot(package),
    )
    return package


# --- sign-off --------------------------------------------------------------------------


def standing(qs: Any) -> Any:
    """Sign-offs that were not corrected by a later one."""
    return qs.filter(corrected_by__isnull=True)


def _working(package: WorkPackage, at: dt.datetime) -> None:
    if package.status == PackageStatus.DRAFT:
        raise RuleViolation(f"{package} is a draft: open it before signing", field="package")
    if package.status not in WORKING:
        raise Conflict(
            f"{package} is {package.get_status_display().lower()}: nothing more is signed on it",
            field="package",
        )
    if package.opened_at is not None and at < package.opened_at:
        raise RuleViolation(
            f"{at:%Y-%m-%d %H:%M} UTC is before {package} was opened "
            f"({package.opened_at:%Y-%m-%d %H:%M} UTC)",
            field="at",
        )


def _corrects(
    signoff: SignOff | None, reason: str, kind: str, card: TaskCard, step: TaskStep | None
) -> None:
    if signoff is None:
        return
    if not reason.strip():
        raise RuleViolation("a correction needs its reason", field="correction_reason")
    if (
        signoff.kind != kind
        or signoff.card_id != card.pk
        or signoff.step_id != (step.pk if step else None)
    ):
        raise RuleViolation(
            "a correction corrects a sign-off of the same step or card", field="corrects"
        )
    if SignOff.objects.filter(corrects=signoff).exists():
        raise Conflict("that sign-off was already corrected", field="corrects")


def _previous(kind: str, card: TaskCard, step: TaskStep | None) -> SignOff | None:
    qs = standing(SignOff.objects.filter(card=card, kind=kind, step=step)).select_related("signer")
    return qs.first()


def _already(prev: SignOff, what: str) -> Conflict:
    return Conflict(
        f"{what} was already signed by {prev.signer.get_username()} at "
        f"{prev.signed_at:%Y-%m-%d %H:%M:%S} UTC",
        field="signature",
    )


def _start(card: TaskCard, now: dt.datetime) -> None:
    if card.status == CardStatus.OPEN:
        TaskCard.objects.filter(pk=card.pk).update(status=CardStatus.IN_WORK)
        card.status = CardStatus.IN_WORK
    package = card.package
    if package.status == PackageStatus.OPEN:
        WorkPackage.objects.filter(pk=package.pk).update(
            status=PackageStatus.IN_WORK, started_at=now
        )
        package.status, package.started_at = PackageStatus.IN_WORK, now


def _configuration_step(
    *,
    actor: User,
    step: TaskStep,
    aircraft: Aircraft,
    now: dt.datetime,
    part: Part | None,
    removal_reason: str,
) -> tuple[Installation, Part]:
    reference = f"{step.card.package.number} card {step.card.seq} step {step.seq}"
    if step.position_id is None:
        raise RuleViolation(f"step {step.seq} names no position", field="position")
    if step.kind == StepKind.REMOVE:
        if removal_reason not in CARD_REMOVAL_REASONS:
            raise RuleViolation(
                "say why the part comes off: scheduled, unscheduled (a failure) or robbery "
                "(cannibalisation)",
                field="removal_reason",
            )
        current = (
            Installation.objects.select_related("part__part_number")
            .filter(aircraft=aircraft, position_id=step.position_id, removed_at__isnull=True)
            .first()
        )
        if current is None:
            raise Conflict(
                f"nothing is fitted at {step.position} on {aircraft.serial}", field="position"
            )
        if part is not None and part.pk != current.part_id:
            raise Conflict(f"{current.part} is fitted at {step.position}, not {part}", field="part")
        row = fleet_services.remove_part(
            actor=actor,
            part=current.part,
            removed_at=now,
            reason=removal_reason,
            reference=reference,
            installation=current,
        )
        return row, current.part
    if part is None:
        raise RuleViolation(f"step {step.seq}: name the part (serial) you install", field="part")
    row = fleet_services.install_part(
        actor=actor,
        part=part,
        aircraft=aircraft,
        position=step.position,
        installed_at=now,
        reference=reference,
    )
    return row, part


@transaction.atomic
def sign_step(
    *,
    actor: User,
    step: TaskStep,
    at: dt.datetime | None = None,
    value: float | None = None,
    remark: str = "",
    part: Part | None = None,
    removal_reason: str = "",
    corrects: SignOff | None = None,
    correction_reason: str = "",
) -> SignOff:
    """The performer signs a step. A measured value outside its limits raises a defect; a
    removal or installation step moves the configuration in the same transaction."""
    require(actor, Capability.PERFORM_WORK)
    now = at_or_now(at)
    card = _locked_card(step.card)
    step = TaskStep.objects.select_related("position").get(pk=step.pk)
    step.card = card
    return _sign_step(
        actor=actor,
        card=card,
        step=step,
        now=now,
        value=value,
        remark=remark,
        part=part,
        removal_reason=removal_reason,
        corrects=corrects,
        correction_reason=correction_reason,
    )


def _reading(step: TaskStep, value: float | None) -> tuple[float | None, bool | None]:
    """A step's measured value as stored, and whether it is within the step's limits."""
    if step.kind != StepKind.MEASURE:
        if value is not None:
            raise RuleViolation(f"step {step.seq} measures nothing", field="value")
        return None, None
    if value is None:
        raise RuleViolation(
            f"step {step.seq}: enter the measured {step.measure_name}", field="value"
        )
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RuleViolation(f"step {step.seq}: {value!r} is not a number", field="value")
    if not math.isfinite(value):
        raise RuleViolation(f"step {step.seq}: {value!r} is not a measurement", field="value")
    value = float(value) + 0.0  # -0.0 is stored as 0.0
    lo, hi = step.measure_min, step.measure_max
    return value, (lo is None or value >= lo) and (hi is None or value <= hi)


def _pending(step: TaskStep) -> SupervisedStep | None:
    """A trainee's signature on the step that is neither countersigned nor declined."""
    return (
        SupervisedStep.objects.filter(
            step=step, countersignature__isnull=True, decline__isnull=True
        )
        .select_related("trainee", "supervisor")
        .first()
    )


def _open_step(card: TaskCard, step: TaskStep) -> None:
    """Refuse a first signature on a step that is signed, awaiting a countersignature, or on
    a signed card."""
    prev = _previous(SignOffKind.STEP, card, step)
    if prev is not None:
        raise _already(prev, f"step {step.seq} of card {card}")
    pending = _pending(step)
    if pending is not None:
        raise Conflict(
            f"step {step.seq} of card {card} was performed by {pending.trainee.get_username()} "
            f"under supervision and awaits {pending.supervisor.get_username()}'s countersignature",
            field="step",
        )


def _sign_step(
    *,
    actor: User,
    card: TaskCard,
    step: TaskStep,
    now: dt.datetime,
    value: float | None,
    remark: str,
    part: Part | None,
    removal_reason: str,
    corrects: SignOff | None,
    correction_reason: str,
    supervised: SupervisedStep | None = None,
) -> SignOff:
    """A step's signature by ``actor`` (alone, or countersigning a trainee's ``supervised``
    work) on the locked card: checks, configuration move, signed record, defects."""
    package, aircraft = card.package, card.package.aircraft
    if corrects is None and supervised is None:
        _open_step(card, step)
    _working(package, now)
    if card.status in (CardStatus.SIGNED, CardStatus.DONE):
        raise Conflict(f"card {card} is already signed: its steps are closed", field="step")
    _corrects(corrects, correction_reason, SignOffKind.STEP, card, step)
    if corrects is not None and step.kind in (StepKind.REMOVE, StepKind.INSTALL):
        raise RuleViolation(
            "a removal or installation is corrected by another step (the configuration moved)",
            field="corrects",
        )
    authority = _authority(actor, Privilege.TASK, aircraft, card.ata, now)
    value, within = _reading(step, value)
    # defects this step's reading raised, still open: a corrected reading within limits
    # closes them as raised in error; one still outside keeps them (no second defect)
    raised = (
        list(
            Defect.objects.select_for_update()
            .filter(step=step, source=DefectSource.MEASUREMENT)
            .exclude(status=DefectStatus.CLOSED)
        )
        if corrects is not None
        else []
    )
    installation, moved = None, None
    if step.kind in (StepKind.REMOVE, StepKind.INSTALL):
        installation, moved = _configuration_step(
            actor=actor,
            step=step,
            aircraft=aircraft,
            now=now,
            part=part,
            removal_reason=removal_reason,
        )
    elif part is not None or removal_reason:
        raise RuleViolation(f"step {step.seq} moves no part", field="part")
    signoff = SignOff.objects.create(
        kind=SignOffKind.STEP,
        card=card,
        step=step,
        value=value,
        within_limits=within,
        remark=remark.strip(),
        installation=installation,
        part=moved,
        removal_reason=removal_reason if step.kind == StepKind.REMOVE else "",
        corrects=corrects,
        correction_reason=correction_reason.strip(),
        performed_by=supervised.trainee if supervised is not None else None,
        supervised=supervised,
        signer=actor,
        authorisation=authority.authorisation,
        qualification_ref=authority.reference,
        signed_at=now,
    )
    _sign(signoff, kind="step", aircraft=aircraft, signer=actor, authority=authority, at=now)
    _start(card, now)
    action = "sign_step" if supervised is None else "countersign_step"
    _audit(actor, action, signoff, aircraft, after=audit.snapshot(signoff))
    if within is True:
        for defect in raised:
            _close_defect(
                defect,
                card,
                actor=actor,
                action=(
                    f"Raised in error: the reading at step {step.seq} of card {card} was "
                    f"corrected from {corrects.value:g} to {value:g} {step.measure_unit}, within "  # type: ignore[union-attr]
                    f"its limits ({correction_reason.strip()})"
                ),
                authorisation=authority.authorisation,
                reference=authority.reference,
                now=now,
            )
    if within is False and not raised:
        limits = step.limits_text
        _raise(
            actor=actor,
            aircraft=aircraft,
            ata=card.ata,
            description=(
                f"{step.measure_name} measured {value:g} {step.measure_unit}".strip()
                + f", outside its limits ({limits}), at step {step.seq} of card {card}"
            ),
            source=DefectSource.MEASUREMENT,
            source_ref=f"{card} step {step.seq}",
            found_at=now,
            step=step,
        )
    return signoff


@transaction.atomic
def sign_step_supervised(
    *,
    actor: User,
    step: TaskStep,
    supervisor: User,
    at: dt.datetime | None = None,
    value: float | None = None,
    remark: str = "",
    part: Part | None = None,
    removal_reason: str = "",
) -> SupervisedStep:
    """A trainee signs a step performed under ``supervisor``'s supervision. The trainee holds
    a stage that allows supervised work on the type; the supervisor may sign the step at this
    instant. The step counts once the supervisor countersigns (``countersign_step``)."""
    require(actor, Capability.PERFORM_WORK)
    now = at_or_now(at)
    card = _locked_card(step.card)
    step = TaskStep.objects.select_related("position").get(pk=step.pk)
    step.card = card
    package, aircraft = card.package, card.package.aircraft
    _open_step(card, step)
    _working(package, now)
    if card.status in (CardStatus.SIGNED, CardStatus.DONE):
        raise Conflict(f"card {card} is already signed: its steps are closed", field="step")
    if supervisor.pk == actor.pk:
        raise RuleViolation("a trainee's supervisor is someone else", field="supervisor")
    grant = training_selectors.supervised_work_grant(actor, aircraft.variant.aircraft_type, now)
    _authority(supervisor, Privilege.TASK, aircraft, card.ata, now)
    _may_supervise(supervisor, aircraft)
    value, _ = _reading(step, value)
    if step.kind == StepKind.INSTALL and part is None:
        raise RuleViolation(f"step {step.seq}: name the part installed", field="part")
    if step.kind == StepKind.REMOVE:
        if removal_reason not in CARD_REMOVAL_REASONS:
            raise RuleViolation(
                f"step {step.seq}: say why the part came off ({', '.join(CARD_REMOVAL_REASONS)})",
                field="removal_reason",
            )
    elif removal_reason:
        raise RuleViolation(f"step {step.seq} removes no part", field="removal_reason")
    if step.kind not in (StepKind.REMOVE, StepKind.INSTALL) and part is not None:
        raise RuleViolation(f"step {step.seq} moves no part", field="part")
    entry = SupervisedStep.objects.create(
        card=card,
        step=step,
        trainee=actor,
        supervisor=supervisor,
        stage_ref=f"{grant.number} {grant.stage.name} ({grant.stage.aircraft_type.code})",
        value=value,
        remark=remark.strip(),
        part=part,
        removal_reason=removal_reason,
        performed_at=now,
    )
    chain.sign(
        entry,
        kind="supervised_step",
        operator_id=aircraft.operator_id,
        signer=actor,
        signer_label=actor.get_username(),
        qualification_ref=entry.stage_ref,
        at=now,
    )
    _start(card, now)
    _audit(actor, "sign_step_supervised", entry, aircraft, after=audit.snapshot(entry))
    return entry


def _may_supervise(supervisor: User, aircraft: Aircraft) -> None:
    """Refuse a supervisor who could never countersign nor decline (the step would wait for
    them for good): inactive, of a role that signs no work, or another operator's staff."""
    name = supervisor.get_username()
    if not supervisor.is_active:
        raise RuleViolation(f"{name} is not an active user", field="supervisor")
    if not role_allows(supervisor.role, Capability.PERFORM_WORK):
        raise RuleViolation(
            f"{name} ({supervisor.get_role_display()}) signs no work: they cannot countersign",
            field="supervisor",
        )
    if supervisor.operator_id is not None and supervisor.operator_id != aircraft.operator_id:
        raise RuleViolation(
            f"{name} is another operator's staff: they cannot countersign on {aircraft.serial}",
            field="supervisor",
        )


def _locked_entry(
    entry: SupervisedStep, actor: User, *, trainee_may: bool = False
) -> tuple[TaskCard, SupervisedStep]:
    """The entry's card locked, the entry still awaiting its supervisor, who is ``actor``
    (``trainee_may``: or the trainee who signed it)."""
    card = _locked_card(entry.card)
    entry = SupervisedStep.objects.select_related(
        "step__position", "trainee", "supervisor", "part"
    ).get(pk=entry.pk)
    signed = SignOff.objects.filter(supervised=entry).select_related("signer").first()
    if signed is not None:
        raise _already(signed, f"the countersignature of {entry}")
    declined = SupervisionDecline.objects.filter(entry=entry).select_related("declined_by").first()
    if declined is not None:
        raise Conflict(
            f"{entry} was declined by {declined.declined_by.get_username()} ({declined.reason})",
            field="entry",
        )
    if actor.pk != entry.supervisor_id and not (trainee_may and actor.pk == entry.trainee_id):
        raise RuleViolation(
            f"{entry.trainee.get_username()} named {entry.supervisor.get_username()} as "
            "supervisor: only they countersign or decline this step",
            field="signer",
        )
    entry.step.card = card
    return card, entry


@transaction.atomic
def countersign_step(
    *, actor: User, entry: SupervisedStep, at: dt.datetime | None = None, remark: str = ""
) -> SignOff:
    """The supervisor countersigns a trainee's step: the step's sign-off, signed under the
    supervisor's own authority (checked as any sign-off), naming the trainee as performer."""
    require(actor, Capability.PERFORM_WORK)
    now = at_or_now(at)
    card, entry = _locked_entry(entry, actor)
    if now < entry.performed_at:
        raise RuleViolation(
            f"{now:%Y-%m-%d %H:%M} UTC is before the trainee signed "
            f"({entry.performed_at:%Y-%m-%d %H:%M} UTC)",
            field="at",
        )
    return _sign_step(
        actor=actor,
        card=card,
        step=entry.step,
        now=now,
        value=entry.value,
        remark=remark.strip() or entry.remark,
        part=entry.part,
        removal_reason=entry.removal_reason,
        corrects=None,
        correction_reason="",
        supervised=entry,
    )


@transaction.atomic
def decline_supervised_step(
    *, actor: User, entry: SupervisedStep, reason: str, at: dt.datetime | None = None
) -> SupervisionDecline:
    """The supervisor does not accept the trainee's step, or the trainee withdraws their
    signature while it awaits the supervisor (who may be away for good): it does not count
    (nor log), and the step is open again."""
    require(actor, Capability.PERFORM_WORK)
    now = at_or_now(at)
    reason = reason.strip()
    if not reason:
        raise RuleViolation("say why the step is declined", field="reason")
    card, entry = _locked_entry(entry, actor, trainee_may=True)
    if now < entry.performed_at:
        raise RuleViolation(
            f"{now:%Y-%m-%d %H:%M} UTC is before the trainee signed "
            f"({entry.performed_at:%Y-%m-%d %H:%M} UTC)",
            field="at",
        )
    row = SupervisionDecline.objects.create(
        entry=entry, declined_by=actor, declined_at=now, reason=reason
    )
    chain.sign(
        row,
        kind="supervision_decline",
        operator_id=card.package.aircraft.operator_id,
        signer=actor,
        signer_label=actor.get_username(),
        qualification_ref="",
        at=now,
    )
    _audit(actor, "decline_supervised_step", row, card.package.aircraft, after=audit.snapshot(row))
    return row


def _performers(card: TaskCard) -> set[int]:
    """Everyone who signed a step or the card, corrected signatures and corrections too, and
    every trainee who performed a step of it: having done any of the work rules out
    inspecting it."""
    signed = SignOff.objects.filter(card=card, kind__in=[SignOffKind.STEP, SignOffKind.CARD])
    return set(signed.values_list("signer_id", flat=True)) | set(
        SupervisedStep.objects.filter(card=card).values_list("trainee_id", flat=True)
    )


def _done(card: TaskCard, now: dt.datetime) -> None:
    TaskCard.objects.filter(pk=card.pk).update(status=CardStatus.DONE)
    card.status = CardStatus.DONE
    package = card.package
    if not package.cards.exclude(status=CardStatus.DONE).exists():
        WorkPackage.objects.filter(pk=package.pk).update(
            status=PackageStatus.COMPLETED, completed_at=now
        )
        package.status, package.completed_at = PackageStatus.COMPLETED, now


@transaction.atomic
def sign_card(
    *,
    actor: User,
    card: TaskCard,
    at: dt.datetime | None = None,
    remark: str = "",
) -> SignOff:
    """The card signed as done, once every step is. A critical card then awaits its
    independent inspection; any other card is done."""
    require(actor, Capability.PERFORM_WORK)
    now = at_or_now(at)
    card = _locked_card(card)
    package, aircraft = card.package, card.package.aircraft
    prev = _previous(SignOffKind.CARD, card, None)
    if prev is not None:
        raise _already(prev, f"card {card}")
    _working(package, now)
    signed_steps = set(
        standing(SignOff.objects.filter(card=card, kind=SignOffKind.STEP)).values_list(
            "step__seq", flat=True
        )
    )
    missing = [s for s in card.steps.values_list("seq", flat=True) if s not in signed_steps]
    if missing:
        raise RuleViolation(
            f"card {card}: step{'s' if len(missing) > 1 else ''} "
            f"{', '.join(map(str, missing))} not signed yet",
            field="steps",
        )
    signoff = _card_signoff(SignOffKind.CARD, Privilege.TASK, card, actor, remark, now)
    if card.critical:
        TaskCard.objects.filter(pk=card.pk).update(status=CardStatus.SIGNED)
        card.status = CardStatus.SIGNED
    else:
        _done(card, now)
    _audit(actor, "sign_card", signoff, aircraft, after=audit.snapshot(signoff))
    return signoff


def _card_signoff(
    kind: str, privilege: str, card: TaskCard, actor: User, remark: str, now: dt.datetime
) -> SignOff:
    """A card's own signature (the card, or its inspection), checked and signed."""
    aircraft = card.package.aircraft
    authority = _authority(actor, privilege, aircraft, card.ata, now)
    signoff = SignOff.objects.create(
        kind=kind,
        card=card,
        remark=remark.strip(),
        signer=actor,
        authorisation=authority.authorisation,
        qualification_ref=authority.reference,
        signed_at=now,
    )
    _sign(signoff, kind=kind, aircraft=aircraft, signer=actor, authority=authority, at=now)
    return signoff


@transaction.atomic
def inspect_card(
    *,
    actor: User,
    card: TaskCard,
    at: dt.datetime | None = None,
    remark: str = "",
) -> SignOff:
    """The independent inspection of a critical card, by someone who did not perform or
    sign any of its work."""
    require(actor, Capability.PERFORM_WORK)
    now = at_or_now(at)
    card = _locked_card(card)
    package, aircraft = card.package, card.package.aircraft
    if not card.critical:
        raise RuleViolation(
            f"card {card} is not a critical task: it needs no inspection", field="card"
        )
    prev = _previous(SignOffKind.INSPECTION, card, None)
    if prev is not None:
        raise _already(prev, f"the inspection of card {card}")
    _working(package, now)
    if card.status != CardStatus.SIGNED:
        raise RuleViolation(f"card {card} is not signed yet: inspect it after", field="card")
    if actor.pk in _performers(card):
        raise RuleViolation(
            f"{actor.get_username()} performed or signed work on card {card}: "
            "the independent inspection is signed by a different person",
            field="signer",
        )
    signoff = _card_signoff(SignOffKind.INSPECTION, Privilege.INSPECTION, card, actor, remark, now)
    _done(card, now)
    _audit(actor, "inspect_card", signoff, aircraft, after=audit.snapshot(signoff))
    return signoff


def _done_at(card: TaskCard) -> dt.datetime:
    last = (
        standing(
            SignOff.objects.filter(card=card, kind__in=[SignOffKind.CARD, SignOffKind.INSPECTION])
        )
        .order_by("-signed_at")
        .values_list("signed_at", flat=True)
        .first()
    )
    assert last is not None
    return last


@transaction.atomic
def release_package(
    *,
    actor: User,
    package: WorkPackage,
    statement: str = "",
    at: dt.datetime | None = None,
) -> Release:
    """The certificate of release to service, signed last: every card done, no defect found
    in this work left open without a deferral. It records the compliance of every task."""
    require(actor, Capability.PERFORM_WORK)
    now = at_or_now(at)
    package = _locked_package(package)
    aircraft = package.aircraft
    if package.status == PackageStatus.RELEASED:
        prev = Release.objects.select_related("signer").get(package=package)
        raise Conflict(
            f"{package} was already released by {prev.signer.get_username()} at "
            f"{prev.signed_at:%Y-%m-%d %H:%M:%S} UTC",
            field="package",
        )
    if package.status != PackageStatus.COMPLETED:
        waiting = [str(c.seq) for c in package.cards.exclude(status=CardStatus.DONE)]
        raise RuleViolation(
            f"{package} is not completed: card{'s' if len(waiting) > 1 else ''} "
            f"{', '.join(waiting)} not done (signed, and inspected when critical)",
            field="cards",
        )
    if package.completed_at is not None and now < package.completed_at:
        raise RuleViolation(
            f"{now:%Y-%m-%d %H:%M} UTC is before the work was completed "
            f"({package.completed_at:%Y-%m-%d %H:%M} UTC)",
            field="at",
        )
    found = [d.number for d in selectors.release_blockers(package)]
    if found:
        raise RuleViolation(
            f"defects found in this work are open and not deferred: {', '.join(found)}: "
            "defer them, or add a card that rectifies them to this package",
            field="defects",
        )
    cards = list(package.cards.select_related("task", "part").order_by("seq"))
    chapters = sorted({chapter_of(c.ata) for c in cards})
    authorities = [_authority(actor, Privilege.RELEASE, aircraft, ch, now) for ch in chapters]
    references = list(dict.fromkeys(a.reference for a in authorities))
    reference = "; ".join(references)
    # the defects this package rectifies, locked before any chain head (the lock order)
    rectified = {
        d.pk: d
        for d in Defect.objects.select_for_update().filter(
            pk__in=[c.defect_id for c in cards if c.defect_id]
        )
    }
    statement = statement.strip() or STANDARD_STATEMENT
    release = Release.objects.create(
        package=package,
        statement=statement,
        signer=actor,
        authorisation=authorities[0].authorisation if authorities else None,
        qualification_ref=reference,
        signed_at=now,
    )
    compliances = []
    for card in cards:
        if card.task_id is None:
            continue
        done_at = _done_at(card)
        compliances.append(
            mx_services.record_compliance(
                actor=actor,
                task=card.task,
                done_at=done_at,
                aircraft=None if card.part_id else aircraft,
                part=card.part,
                reference=f"{package.number} card {card.seq} (CRS)",
                qualification_ref=reference,
            )
        )
    release.compliances.set(compliances)
    chain.sign(
        release,
        kind="release",
        operator_id=aircraft.operator_id,
        signer=actor,
        signer_label=actor.get_username(),
        qualification_ref=reference,
        at=now,
    )
    for card in cards:
        if card.defect_id is not None:
            steps = "; ".join(card.steps.values_list("text", flat=True))
            _close_defect(
                rectified[card.defect_id],
                card,
                actor=actor,
                action=f"Rectified by card {card}, released with {release}: {steps}",
                authorisation=release.authorisation,
                reference=reference,
                now=now,
            )
    WorkPackage.objects.filter(pk=package.pk).update(status=PackageStatus.RELEASED, released_at=now)
    package.status, package.released_at = PackageStatus.RELEASED, now
    _audit(actor, "release_package", release, aircraft, after=audit.snapshot(release))
    return release


# --- defects ---------------------------------------------------------------------------


def _raise(
    *,
    actor: User | None,
    aircraft: Aircraft,
    ata: str,
    description: str,
    source: str,
    found_at: dt.datetime,
    source_ref: str = "",
    step: TaskStep | None = None,
) -> Defect:
    chapter_of(ata)
    if source not in DefectSource.values:
        raise RuleViolation(
            f"source must be one of {', '.join(DefectSource.values)}, not {source!r}",
            field="source",
        )
    description = description.strip()
    if not description:
        raise RuleViolation("describe the defect", field="description")
    now = timezone.now()
    defect = Defect.objects.create(
        number=next_number("DF", now),
        aircraft=aircraft,
        ata=ata.strip(),
        description=description,
        source=source,
        source_ref=source_ref,
        found_at=found_at,
        raised_by=actor,
        raised_at=now,
        step=step,
    )
    _audit(actor, "raise_defect", defect, aircraft, after=audit.snapshot(defect))
    return defect


@transaction.atomic
def raise_defect(
    *,
    actor: User | None,
    aircraft: Aircraft,
    ata: str,
    description: str,
    source: str,
    found_at: dt.datetime | None = None,
    source_ref: str = "",
) -> Defect:
    """Anyone with access to the aircraft raises a defect (an operator's staff: only on
    their own aircraft). Open and not deferred, it grounds the aircraft."""
    require(actor, Capability.RAISE_DEFECT)
    if actor is not None and actor.operator_id and actor.operator_id != aircraft.operator_id:
        raise RuleViolation(
            f"{aircraft.serial} is not an aircraft of your operator", field="aircraft"
        )
    return _raise(
        actor=actor,
        aircraft=aircraft,
        ata=ata,
        description=description,
        source=source,
        found_at=at_or_now(found_at, "found_at"),
        source_ref=source_ref,
    )


def mel_deadline(category: str, found_at: dt.datetime, limit: dt.datetime | None) -> dt.datetime:
    """Where a deferral runs out. B, C and D: that many calendar days (UTC) after the day
    of discovery, which does not count, to the end of the last day. A: its own limit."""
    if category == MelCategory.A:
        if limit is None:
            raise RuleViolation(
                "a category A deferral states its own limit (the MEL item's deadline)",
                field="deadline",
            )
        if limit.tzinfo is None:
            raise RuleViolation("the deadline needs a time zone", field="deadline")
        return limit.astimezone(dt.UTC)
    if category not in MEL_DAYS:
        raise RuleViolation(
            f"category must be one of {', '.join(MelCategory.values)}, not {category!r}",
            field="category",
        )
    if limit is not None:
        raise RuleViolation(
            f"a category {category} deferral runs {MEL_DAYS[category]} days: give no deadline",
            field="deadline",
        )
    day = found_at.astimezone(dt.UTC).date() + dt.timedelta(days=MEL_DAYS[category] + 1)
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


@transaction.atomic
def defer_defect(
    *,
    actor: User,
    defect: Defect,
    category: str,
    mel_item: str,
    reason: str,
    deadline: dt.datetime | None = None,
    at: dt.datetime | None = None,
) -> Deferral:
    """Defer an open defect under an MEL category, signed by certifying staff (the release
    privilege on the type and the defect's chapter). A deferral of a deferred defect
    supersedes the one in force, with its reason: under the same category (B, C and D keep
    their deadline from the discovery; A states its own), and only before it runs out."""
    require(actor, Capability.PERFORM_WORK)
    now = at_or_now(at)
    defect = (
        Defect.objects.select_for_update(of=("self",))
        .select_related("aircraft__variant__aircraft_type")
        .get(pk=defect.pk)
    )
    aircraft = defect.aircraft
    if defect.status == DefectStatus.CLOSED:
        raise Conflict(f"{defect} is closed", field="defect")
    if not mel_item.strip():
        raise RuleViolation("name the MEL item the deferral rests on", field="mel_item")
    if not reason.strip():
        raise RuleViolation("say why the defect is deferred", field="reason")
    current = defect.deferrals.filter(superseded_by__isnull=True).first()
    if current is not None and current.deadline <= now:
        raise Conflict(
            f"{defect}'s deferral ran out at {current.deadline:%Y-%m-%d %H:%M} UTC: it cannot be "
            "deferred again, and it grounds the aircraft until it is rectified",
            field="defect",
        )
    if current is not None and category != current.category:
        raise RuleViolation(
            f"{defect} is deferred under category {current.category}: a later deferral keeps "
            "the category (a B, C or D deferral keeps its deadline; an A one states a new one)",
            field="category",
        )
    limit = mel_deadline(category, defect.found_at, deadline)
    if limit <= now:
        raise RuleViolation(
            f"the deferral would run out at {limit:%Y-%m-%d %H:%M} UTC, which has passed",
            field="deadline",
        )
    authority = _authority(actor, Privilege.RELEASE, aircraft, defect.ata, now)
    deferral = Deferral.objects.create(
        defect=defect,
        category=category,
        mel_item=mel_item.strip(),
        deadline=limit,
        reason=reason.strip(),
        supersedes=current,
        signer=actor,
        authorisation=authority.authorisation,
        qualification_ref=authority.reference,
        signed_at=now,
    )
    _sign(deferral, kind="deferral", aircraft=aircraft, signer=actor, authority=authority, at=now)
    Defect.objects.filter(pk=defect.pk).update(status=DefectStatus.DEFERRED, deadline=limit)
    defect.status, defect.deadline = DefectStatus.DEFERRED, limit
    _audit(actor, "defer_defect", deferral, aircraft, after=audit.snapshot(deferral))
    return deferral


def _close_defect(
    defect: Defect,
    card: TaskCard,
    *,
    actor: User,
    action: str,
    authorisation: Any,
    reference: str,
    now: dt.datetime,
) -> DefectClosure:
    """Close a defect (locked by the caller), signed: rectified by a released card, or raised
    in error by a reading that was corrected."""
    if defect.status == DefectStatus.CLOSED:
        raise Conflict(f"{defect} is already closed", field="defect")
    closure = DefectClosure.objects.create(
        defect=defect,
        card=card,
        action=action[:1000],
        signer=actor,
        authorisation=authorisation,
        qualification_ref=reference,
        signed_at=now,
    )
    chain.sign(
        closure,
        kind="defect closure",
        operator_id=card.package.aircraft.operator_id,
        signer=actor,
        signer_label=actor.get_username(),
        qualification_ref=reference,
        at=now,
    )
    Defect.objects.filter(pk=defect.pk).update(status=DefectStatus.CLOSED, closed_at=now)
    defect.status, defect.closed_at = DefectStatus.CLOSED, now
    return closure
