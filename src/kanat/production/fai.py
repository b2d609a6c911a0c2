"""The write path of AS9102 first-article inspection (FAI).

A first article is opened on one serial of a part number (at its part-master drawing
revision and, for an assembly, a BOM revision), with Form 1 (part number
accountability) filled from the part master and the caller. While it is open, Form 2
entries (materials, special processes, functional tests) and Form 3 characteristics
are added and results recorded. It is then accepted (signed by a quality engineer or a
hub administrator who is not the one who prepared it, and refused while any
characteristic has no result or failed) or rejected with a reason.

``first_article_needed(part_number, bom)`` says whether no accepted FAI covers that
part number at that BOM revision (or, for a detail part, at its current drawing
revision) yet: build orders can show it as a warning.

Every function runs in one transaction, checks the actor's role and writes its audit
event there; bad input raises ``RuleViolation`` naming the field and changes nothing.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils import timezone

from kanat.core import audit
from kanat.core.errors import Conflict, NotAllowed, RuleViolation
from kanat.core.models import User
from kanat.core.roles import Capability, Role
from kanat.core.services import require
from kanat.fleet.models import PartNumber
from kanat.production.models import (
    Bom,
    BomStatus,
    BuildOrder,
    DetailOrAssembly,
    FaiReason,
    FaiScope,
    FaiStatus,
    FirstArticle,
    FirstArticleCharacteristic,
    FirstArticleMaterial,
    Form2Kind,
    PartMaster,
)
from kanat.work.services import next_number

#: Who may sign a first article off (accept or reject it).
SIGNING_ROLES = frozenset({Role.QUALITY, Role.HUB_ADMIN})
#: a nominal or tolerance is smaller than this in size (14 digits, 4 after the point)
LIMIT = Decimal(10) ** 10
#: the highest characteristic (balloon) number the column holds
MAX_NUMBER = 2_147_483_647


# --- reads -------------------------------------------------------------------------------


def accepted_first_article(part_number: PartNumber, bom: Bom | None = None) -> FirstArticle | None:
    """The latest accepted FAI of ``part_number`` at ``bom`` (an assembly's BOM revision)
    or, without a BOM, at the part master's current drawing revision."""
    found = FirstArticle.objects.filter(part_number=part_number, status=FaiStatus.ACCEPTED)
    if bom is not None:
        found = found.filter(bom=bom)
    else:
        pm = PartMaster.objects.filter(part_number=part_number).first()
        if pm is None:
            return None
        found = found.filter(bom__isnull=True, part_revision=pm.revision)
    return found.order_by("-signed_at", "-id").first()


def first_article_needed(part_number: PartNumber, bom: Bom | None = None) -> bool:
    """True while no accepted FAI covers ``part_number`` at ``bom`` (or, for a detail
    part without a BOM, at its current drawing revision)."""
    return accepted_first_article(part_number, bom) is None


def open_problems(fai: FirstArticle) -> list[tuple[str, str]]:
    """What stands between an open FAI and its acceptance: (field, message) pairs."""
    out: list[tuple[str, str]] = []
    characteristics = list(fai.characteristics.order_by("number"))
    if not characteristics:
        out.append(("characteristics", "form 3 has no characteristics"))
    for c in characteristics:
        if c.passed is None:
            out.append((f"characteristics[{c.number}]", f"characteristic {c.number} has no result"))
        elif not c.passed:
            out.append(
                (
                    f"characteristics[{c.number}]",
                    f"characteristic {c.number} ({c.requirement}) failed: {c.result}",
                )
            )
    return out


# --- helpers -----------------------------------------------------------------------------


def _text(value: Any, field: str, *, required: bool = True, max_length: int = 200) -> str:
    text = str(value or "").strip()
    if required and not text:
        raise RuleViolation(f"{field} is required", field=field)
    if len(text) > max_length:
        raise RuleViolation(f"{field}: {max_length} characters at most", field=field)
    return text


def _choice(value: Any, choices: Any, field: str) -> str:
    if value not in choices.values:
        raise RuleViolation(
            f"{field} must be one of {', '.join(choices.values)}, not {value!r}", field=field
        )
    return str(value)


def _decimal(value: Any, field: str) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise RuleViolation(f"{field}: {value!r} is not a number", field=field)
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise RuleViolation(f"{field}: {value!r} is not a number", field=field) from None
    if not number.is_finite():
        raise RuleViolation(f"{field}: {value!r} is not a number", field=field)
    if abs(number) >= LIMIT:  # the column holds 10 digits before the point
        raise RuleViolation(f"{field}: {value} is too large (below {LIMIT:,} in size)", field=field)
    if number != number.quantize(Decimal("0.0001")):
        raise RuleViolation(f"{field}: {value} has more than 4 decimal places", field=field)
    return number


def _locked_open(fai: FirstArticle) -> FirstArticle:
    locked = FirstArticle.objects.select_for_update().get(pk=fai.pk)
    if locked.status != FaiStatus.OPEN:
        raise Conflict(
            f"{locked.number} is {locked.status}: its forms no longer change", field="status"
        )
    return locked


def _content(fai: FirstArticle) -> dict[str, Any]:
    return {
        "number": fai.number,
        "part_number": fai.part_number.pn,
        "part_revision": fai.part_revision,
        "bom": fai.bom.revision if fai.bom_id else None,
        "build_order": fai.build_order.number if fai.build_order_id else None,
        "serial": fai.serial,
        "reason": fai.reason,
        "status": fai.status,
        "scope": fai.scope,
        "partial_reason": fai.partial_reason,
    }


# --- opening -----------------------------------------------------------------------------


@transaction.atomic
def open_first_article(
    *,
    actor: User | None,
    part_number: PartNumber,
    serial: str,
    reason: str,
    organisation: str,
    bom: Bom | None = None,
    build_order: BuildOrder | None = None,
    scope: str = FaiScope.FULL,
    partial_reason: str = "",
    baseline: FirstArticle | None = None,
    drawing_number: str = "",
    at: dt.datetime | None = None,
) -> FirstArticle:
    """Open a first article on ``serial`` of ``part_number``. With a build order the BOM
    is the order's (and the serial one of its outputs); an assembly (a part with a
    released BOM) names its BOM revision. A new part or a new BOM revision is refused
    when an accepted FAI already covers it; a change or a lapse may repeat one (usually
    as a partial FAI against the accepted baseline)."""
    require(actor, Capability.INSPECT_PRODUCTION)
    now = at or timezone.now()
    reason = _choice(reason, FaiReason, "reason")
    scope = _choice(scope, FaiScope, "scope")
    serial = _text(serial, "serial", max_length=60)
    organisation = _text(organisation, "organisation")
    partial_reason = _text(partial_reason, "partial_reason", required=False, max_length=300)
    pm = PartMaster.objects.filter(part_number=part_number).first()
    if pm is None:
        raise RuleViolation(f"{part_number.pn} has no part master", field="part_number")
    # one first article is prepared at a time per part number
    PartNumber.objects.select_for_update().filter(pk=part_number.pk).first()
    if build_order is not None:
        if build_order.product.part_number_id != part_number.pk:
            raise RuleViolation(
                f"{build_order.number} builds {build_order.product.part_number.pn}, "
                f"not {part_number.pn}",
                field="build_order",
            )
        if bom is not None and bom.pk != build_order.bom_id:
            raise RuleViolation(
                f"{build_order.number} is built to BOM revision {build_order.bom.revision}, "
                f"not {bom.revision}",
                field="bom",
            )
        bom = build_order.bom
        unit = build_order.outputs.filter(serial=serial).select_related("scrapped_by").first()
        if unit is None:
            raise RuleViolation(f"{serial} is not a serial of {build_order.number}", field="serial")
        if unit.scrapped_by_id is not None:
            raise RuleViolation(
                f"{serial} of {build_order.number} was scrapped under "
                f"{unit.scrapped_by.number}: inspect a unit that is not scrapped",  # type: ignore[union-attr]
                field="serial",
            )
    if bom is None:
        bom = Bom.objects.filter(part_number=part_number, status=BomStatus.RELEASED).first()
    elif bom.part_number_id != part_number.pk:
        raise RuleViolation(f"{bom} is not a BOM of {part_number.pn}", field="bom")
    if bom is not None and bom.status == BomStatus.DRAFT:
        raise RuleViolation(
            f"BOM revision {bom.revision} is a draft: a first article is built to a released one",
            field="bom",
        )
    if scope == FaiScope.PARTIAL:
        if not partial_reason:
            raise RuleViolation("a partial FAI says what changed", field="partial_reason")
        if baseline is None:
            baseline = (
                FirstArticle.objects.filter(part_number=part_number, status=FaiStatus.ACCEPTED)
                .order_by("-signed_at", "-id")
                .first()
            )
        if baseline is None:
            raise RuleViolation(
                f"a partial FAI needs an accepted FAI of {part_number.pn} as its baseline",
                field="baseline",
            )
    if baseline is not None and (
        baseline.part_number_id != part_number.pk or baseline.status != FaiStatus.ACCEPTED
    ):
        raise RuleViolation(
            f"{baseline.number} is not an accepted FAI of {part_number.pn}", field="baseline"
        )
    if reason in (FaiReason.NEW_PART, FaiReason.NEW_BOM_REVISION):
        done = accepted_first_article(part_number, bom)
        if done is not None:
            raise RuleViolation(
                f"{done.number} already accepted the first article of {part_number.pn}"
                + (f" BOM revision {bom.revision}" if bom is not None else f" rev {pm.revision}")
                + ": a repeat is for a change or a lapse",
                field="reason",
            )
    already = FirstArticle.objects.filter(
        part_number=part_number, bom=bom, status=FaiStatus.OPEN
    ).first()
    if already is not None:
        raise Conflict(
            f"{already.number} is already open for {part_number.pn}", field="part_number"
        )
    fai = FirstArticle.objects.create(
        number=next_number("FAI", now),
        part_number=part_number,
        part_revision=pm.revision,
        bom=bom,
        build_order=build_order,
        serial=serial,
        reason=reason,
        part_name=part_number.description[:200],
        drawing_number=_text(drawing_number or part_number.pn, "drawing_number", max_length=80),
        drawing_revision=pm.revision,
        organisation=organisation,
        detail_or_assembly=DetailOrAssembly.ASSEMBLY
        if bom is not None
        else DetailOrAssembly.DETAIL,
        scope=scope,
        partial_reason=partial_reason,
        baseline=baseline,
        opened_by=actor,
        opened_at=now,
    )
    audit.record(
        actor=actor, action="production.open_first_article", instance=fai, after=_content(fai)
    )
    return fai


# --- forms 2 and 3 -----------------------------------------------------------------------


@transaction.atomic
def add_form2_entry(
    *,
    actor: User | None,
    fai: FirstArticle,
    kind: str,
    name: str,
    specification: str,
    code: str = "",
    supplier: str = "",
    certificate_ref: str = "",
) -> FirstArticleMaterial:
    """A Form 2 entry (a material, special process or functional test) on an open FAI.
    A material or special process names its certificate of conformance."""
    require(actor, Capability.INSPECT_PRODUCTION)
    fai = _locked_open(fai)
    kind = _choice(kind, Form2Kind, "kind")
    entry = FirstArticleMaterial(
        fai=fai,
        kind=kind,
        name=_text(name, "name"),
        specification=_text(specification, "specification"),
        code=_text(code, "code", required=False, max_length=80),
        supplier=_text(supplier, "supplier", required=False),
        certificate_ref=_text(
            certificate_ref,
            "certificate_ref",
            required=kind != Form2Kind.FUNCTIONAL_TEST,
            max_length=120,
        ),
    )
    entry.save()
    audit.record(
        actor=actor,
        action="production.add_fai_form2",
        instance=entry,
        after={"fai": fai.number, "kind": kind, "name": entry.name, "cert": entry.certificate_ref},
    )
    return entry


def _verdict(c: FirstArticleCharacteristic, result: str, passed: bool | None) -> bool:
    """The verdict of ``result`` against the characteristic's limits when it has them
    and the result is a number; else the one given (which is then required)."""
    computed: bool | None = None
    if c.nominal is not None and (c.tolerance_minus is not None or c.tolerance_plus is not None):
        try:
            value = Decimal(result.split()[0])
        except (InvalidOperation, IndexError):
            value = None
        if value is not None and value.is_finite():
            lower = c.nominal - (c.tolerance_minus or 0)
            upper = c.nominal + (c.tolerance_plus or 0)
            computed = lower <= value <= upper
    if computed is not None:
        if passed is not None and passed != computed:
            raise RuleViolation(
                f"characteristic {c.number}: {result} is "
                + ("within" if computed else "outside")
                + f" {c.nominal} -{c.tolerance_minus or 0}/+{c.tolerance_plus or 0}",
                field="passed",
            )
        return computed
    if passed is None:
        raise RuleViolation(
            f"characteristic {c.number}: say whether {result!r} passes", field="passed"
        )
    return passed


@transaction.atomic
def add_characteristic(
    *,
    actor: User | None,
    fai: FirstArticle,
    number: int,
    requirement: str,
    reference_location: str = "",
    nominal: Any = None,
    tolerance_minus: Any = None,
    tolerance_plus: Any = None,
    unit: str = "",
    result: str = "",
    passed: bool | None = None,
    tool: str = "",
) -> FirstArticleCharacteristic:
    """A Form 3 characteristic on an open FAI: its balloon number, location and designed
    requirement (nominal and tolerances, or a text requirement), optionally with its
    result already (see ``record_result``)."""
    require(actor, Capability.INSPECT_PRODUCTION)
    fai = _locked_open(fai)
    if isinstance(number, bool) or not isinstance(number, int) or not 0 < number <= MAX_NUMBER:
        raise RuleViolation(
            f"number must be a whole number from 1 to {MAX_NUMBER}, not {number!r}",
            field="number",
        )
    if fai.characteristics.filter(number=number).exists():
        raise RuleViolation(f"characteristic {number} is already on {fai.number}", field="number")
    c = FirstArticleCharacteristic(
        fai=fai,
        number=number,
        requirement=_text(requirement, "requirement", max_length=300),
        reference_location=_text(
            reference_location, "reference_location", required=False, max_length=80
        ),
        nominal=_decimal(nominal, "nominal"),
        tolerance_minus=_decimal(tolerance_minus, "tolerance_minus"),
        tolerance_plus=_decimal(tolerance_plus, "tolerance_plus"),
        unit=_text(unit, "unit", required=False, max_length=16),
    )
    for field in ("tolerance_minus", "tolerance_plus"):
        value = getattr(c, field)
        if value is not None and value < 0:
            raise RuleViolation(f"{field} is a distance from the nominal: ≥ 0", field=field)
    if (c.tolerance_minus is not None or c.tolerance_plus is not None) and c.nominal is None:
        raise RuleViolation("a tolerance needs a nominal", field="nominal")
    if result:
        _apply_result(actor, c, result, passed, tool)
    c.save()
    audit.record(
        actor=actor,
        action="production.add_fai_characteristic",
        instance=c,
        after={"fai": fai.number, "number": number, "result": c.result, "passed": c.passed},
    )
    return c


def _apply_result(
    actor: User | None, c: FirstArticleCharacteristic, result: str, passed: bool | None, tool: str
) -> None:
    c.result = _text(result, "result")
    c.passed = _verdict(c, c.result, passed)
    c.tool = _text(tool, "tool", required=False, max_length=120) or c.tool
    c.recorded_by = actor
    c.recorded_at = timezone.now()


@transaction.atomic
def record_result(
    *,
    actor: User | None,
    characteristic: FirstArticleCharacteristic,
    result: str,
    passed: bool | None = None,
    tool: str = "",
    ncr_ref: str = "",
) -> FirstArticleCharacteristic:
    """The result of a characteristic of an open FAI (a re-measurement replaces it).
    A numeric result against a nominal with tolerances is judged here; otherwise the
    verdict is given."""
    require(actor, Capability.INSPECT_PRODUCTION)
    _locked_open(characteristic.fai)
    c = FirstArticleCharacteristic.objects.select_for_update().get(pk=characteristic.pk)
    before = {"result": c.result, "passed": c.passed, "tool": c.tool}
    _apply_result(actor, c, result, passed, tool)
    c.ncr_ref = _text(ncr_ref, "ncr_ref", required=False, max_length=40) or c.ncr_ref
    c.save()
    audit.record(
        actor=actor,
        action="production.record_fai_result",
        instance=c,
        before=before,
        after={"result": c.result, "passed": c.passed, "tool": c.tool},
    )
    return c


# --- sign-off ----------------------------------------------------------------------------


def _signer(actor: User | None, what: str) -> User:
    if actor is None:
        raise NotAllowed(f"a first article is {what} by a person, not the system")
    if not actor.is_active or actor.role not in SIGNING_ROLES:
        raise NotAllowed(
            f"{actor.get_username()} ({actor.get_role_display()}) may not sign a first "
            "article off: quality or hub administrator"
        )
    return actor


@transaction.atomic
def accept_first_article(
    *, actor: User | None, fai: FirstArticle, at: dt.datetime | None = None
) -> FirstArticle:
    """Sign the first article off as accepted: by a quality engineer or hub
    administrator other than its preparer, once every characteristic has a result and
    none failed."""
    signer = _signer(actor, "accepted")
    fai = _locked_open(fai)
    if fai.opened_by_id is not None and fai.opened_by_id == signer.pk:
        raise NotAllowed(f"{signer.get_username()} prepared {fai.number}: someone else accepts it")
    problems = open_problems(fai)
    if problems:
        raise RuleViolation(
            f"{fai.number} cannot be accepted: " + "; ".join(m for _, m in problems),
            field=problems[0][0],
        )
    fai.status = FaiStatus.ACCEPTED
    fai.signed_by = signer
    fai.signed_at = at or timezone.now()
    fai.save(update_fields=["status", "signed_by", "signed_at"])
    audit.record(
        actor=signer,
        action="production.accept_first_article",
        instance=fai,
        before={"status": FaiStatus.OPEN},
        after={"status": fai.status},
    )
    return fai


@transaction.atomic
def reject_first_article(
    *, actor: User | None, fai: FirstArticle, reason: str, at: dt.datetime | None = None
) -> FirstArticle:
    """Sign the first article off as rejected, saying why (a new FAI is opened on a
    corrected article)."""
    signer = _signer(actor, "rejected")
    reason = _text(reason, "reason", max_length=300)
    fai = _locked_open(fai)
    fai.status = FaiStatus.REJECTED
    fai.rejection_reason = reason
    fai.signed_by = signer
    fai.signed_at = at or timezone.now()
    fai.save(update_fields=["status", "rejection_reason", "signed_by", "signed_at"])
    audit.record(
        actor=signer,
        action="production.reject_first_article",
        instance=fai,
        before={"status": FaiStatus.OPEN},
        after={"status": fai.status, "reason": reason},
    )
    return fai
