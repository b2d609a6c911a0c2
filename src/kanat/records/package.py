"""Record packages: one aircraft's maintenance records, written to a folder that anyone can
check offline (``kanat records export`` / ``kanat records verify-package``).

A package is five files:

- ``package.json``: the aircraft (identity, operator, counters and airworthiness as of the
  package's instant), its maintenance history (compliance records of the aircraft and of its
  parts while fitted to it; work packages with their cards, steps, sign-offs and release;
  defects with their deferrals and closure), its configuration, its life-limited parts and
  the status of every one-off task (directives, service bulletins) that applies to it. Each
  history entry of a signed record names it (``"record": "work.signoff:12"``) and repeats
  the signed fields under the names they have in the record's content.
- ``records.json``: every signed record of the history: its content exactly as
  ``kanat.records.chain`` hashes it, and its chain link.
- ``chain.json``: the link headers of every chain those records sit in, from #1 to the head
  (other aircraft's links carry no content, only their hashes).
- ``report.pdf``: the same, for a person to read (``kanat.records.pdf.package_pdf``).
- ``manifest.json``: the SHA-256 of each of those files and the package's own hash (of the
  list of files and their hashes).

``verify_package`` needs no database and no Django: this module imports Django only inside
``export``. Its canonical JSON and link hash are those of ``kanat.records.chain`` (a test
holds them equal).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kanat.records.canonical import HASHED, ZERO, header_hash, instant, sha256

FORMAT = "kanat-record-package"
VERSION = 1
FILES = ("package.json", "records.json", "chain.json", "report.pdf")
MANIFEST = "manifest.json"
# link fields a history entry may repeat (checked against the record's link)
LINK_FIELDS = ("chain", "seq", "signer_label", "qualification_ref", "signed_at")
# the signed fields every history entry of a kind of record shows (checked against content)
SHOWN: dict[str, tuple[str, ...]] = {
    "maintenance.compliance": (
        "task",
        "aircraft",
        "part",
        "done_at",
        "stated_fh",
        "stated_fc",
        "performed_by",
        "performed_by_label",
        "reference",
        "corrects",
        "correction_reason",
        "recorded_at",
    ),
    "work.signoff": (
        "kind",
        "card_id",
        "step_id",
        "value",
        "within_limits",
        "remark",
        "part_id",
        "removal_reason",
        "corrects_id",
        "correction_reason",
        "performed_by_id",
        "supervised_id",
        "signer_id",
        "qualification_ref",
        "signed_at",
    ),
    # a trainee's signature on a step performed under supervision, and its decline
    "work.supervisedstep": (
        "card_id",
        "step_id",
        "trainee_id",
        "supervisor_id",
        "stage_ref",
        "value",
        "remark",
        "part_id",
        "removal_reason",
        "performed_at",
    ),
    "work.supervisiondecline": ("entry_id", "declined_by_id", "declined_at", "reason"),
    "work.release": (
        "package_id",
        "statement",
        "compliances",
        "signer_id",
        "qualification_ref",
        "signed_at",
    ),
    "work.deferral": (
        "defect_id",
        "category",
        "mel_item",
        "deadline",
        "reason",
        "supersedes_id",
        "signer_id",
        "qualification_ref",
        "signed_at",
    ),
    "work.defectclosure": (
        "defect_id",
        "card_id",
        "action",
        "signer_id",
        "qualification_ref",
        "signed_at",
    ),
}


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def package_sha256(files: dict[str, str]) -> str:
    """The package's own hash: of its file names and their SHA-256."""
    return sha256({"format": FORMAT, "version": VERSION, "files": files})


def _dump(value: Any) -> bytes:
    return (json.dumps(value, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode()


# --- export ----------------------------------------------------------------------------


class ExportError(Exception):
    """The package cannot be written (the folder, or the records in the database)."""


def _link_header(link: Any) -> dict[str, Any]:
    from kanat.records.chain import link_header

    return link_header(link)


def _date(value: dt.date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _units(values: dict[str, Any]) -> dict[str, Any]:
    return {u: v.isoformat() if isinstance(v, dt.date) else v for u, v in values.items()}


@dataclass
class _Signed:
    """The signed records of the package, with their contents and links."""

    content: dict[str, dict[str, Any]]
    links: dict[str, Any]

    def entry(self, label: str, row: Any, **extra: Any) -> dict[str, Any]:
        key = f"{label}:{row.pk}"
        content, link = self.content[key], self.links[key]
        out = {"record": key, "chain": link.chain, "seq": link.seq}
        out["signer_label"] = link.signer_label
        out["qualification_ref"] = link.qualification_ref
        out["signed_at"] = instant(link.signed_at)
        out.update({k: content[k] for k in SHOWN[label]})
        out.update(extra)
        return out


def _collect(aircraft: Any, as_of: dt.datetime) -> tuple[dict[str, Any], list[Any], list[Any]]:
    """package.json's data, the records (with contents and links) and the chains' links."""
    from django.db.models import Q

    from kanat.fleet import selectors as fleet
    from kanat.fleet.models import Aircraft, Installation
    from kanat.maintenance import forecasting
    from kanat.maintenance.models import Compliance, TaskKind
    from kanat.records import chain
    from kanat.records.models import ChainHead, ChainLink
    from kanat.work.models import (
        Defect,
        DefectClosure,
        Deferral,
        Release,
        SignOff,
        SupervisedStep,
        SupervisionDecline,
        TaskCard,
        WorkPackage,
    )

    heads = {h.chain: (h.seq, h.hash) for h in ChainHead.objects.all()}
    ac = Aircraft.objects.select_related("variant__aircraft_type", "operator").get(pk=aircraft.pk)

    # what is fitted now, and what was fitted over time
    slots = fleet.configuration(ac, as_of)
    fitted = [s.installation for s in slots if s.installation is not None]
    installs = list(
        Installation.objects.filter(aircraft=ac).values_list(
            "part_id", "installed_at", "removed_at"
        )
    )
    revisions = forecasting.revisions_in_force(as_of)
    once = [r for r in revisions if r.kind == TaskKind.ONCE]

    # the compliance records: of the aircraft, of its parts while fitted, those its
    # releases made, and those that settle a one-off task of a part fitted now
    which = Q(aircraft=ac)
    for part_id, start, end in installs:
        span = Q(part_id=part_id, done_at__gte=start)
        which |= span & Q(done_at__lte=end) if end is not None else span
    which |= Q(
        pk__in=Release.compliances.through.objects.filter(release__package__aircraft=ac).values(
            "compliance_id"
        )
    )
    once_pn = {r.part_number_id: r for r in once if r.part_number_id}
    for inst in fitted:
        rev = once_pn.get(inst.part.part_number_id)
        if rev is not None:
            which |= Q(part_id=inst.part_id, task_id=rev.task_id)
    compliances = list(
        Compliance.objects.filter(which)
        .select_related("task", "aircraft", "part__part_number")
        .order_by("done_at", "pk")
    )
    packages = list(WorkPackage.objects.filter(aircraft=ac).order_by("created_at", "pk"))
    cards = list(
        TaskCard.objects.filter(package__aircraft=ac)
        .select_related("package", "task", "revision", "part__part_number", "defect")
        .prefetch_related("steps__position")
        .order_by("package_id", "seq")
    )
    signoffs = list(
        SignOff.objects.filter(card__package__aircraft=ac)
        .select_related("part__part_number", "step")
        .order_by("signed_at", "pk")
    )
    supervised = list(
        SupervisedStep.objects.filter(card__package__aircraft=ac)
        .select_related("step")
        .order_by("performed_at", "pk")
    )
    declines = list(
        SupervisionDecline.objects.filter(entry__card__package__aircraft=ac).order_by(
            "declined_at", "pk"
        )
    )
    releases = list(Release.objects.filter(package__aircraft=ac).order_by("signed_at", "pk"))
    defects = list(Defect.objects.filter(aircraft=ac).order_by("found_at", "pk"))
    deferrals = list(Deferral.objects.filter(defect__aircraft=ac).order_by("signed_at", "pk"))
    closures = list(DefectClosure.objects.filter(defect__aircraft=ac).order_by("signed_at", "pk"))

    rows: dict[str, list[Any]] = {
        "maintenance.compliance": compliances,
        "work.signoff": signoffs,
        "work.supervisedstep": supervised,
        "work.supervisiondecline": declines,
        "work.release": releases,
        "work.deferral": deferrals,
        "work.defectclosure": closures,
    }
    links: dict[str, Any] = {}
    for label, items in rows.items():
        for link in ChainLink.objects.filter(
            subject_model=label, subject_id__in=[r.pk for r in items]
        ):
            links[f"{label}:{link.subject_id}"] = link
    # records signed after the heads were read belong to a later package
    for label, items in rows.items():
        kept = []
        for row in items:
            link = links.get(f"{label}:{row.pk}")
            if link is None:
                raise ExportError(f"{label} {row.pk} has no signature: run `kanat records verify`")
            if link.seq <= heads.get(link.chain, (0, ZERO))[0]:
                kept.append(row)
        items[:] = kept
    chains = sorted(
        {links[f"{label}:{r.pk}"].chain for label, items in rows.items() for r in items}
    )
    for name in chains:
        broken = chain.verify_chain(name)
        if broken is not None:
            raise ExportError(f"the database's chain is broken, {broken}: nothing exported")

    contents: dict[str, dict[str, Any]] = {}
    records: list[dict[str, Any]] = []
    for label, items in rows.items():
        subject = chain.SUBJECTS[label]
        for row in items:
            key = f"{label}:{row.pk}"
            contents[key] = subject.content(row)
            records.append(
                {"record": key, "content": contents[key], "link": _link_header(links[key])}
            )
    records.sort(key=lambda r: (r["link"]["chain"], r["link"]["seq"]))
    signed = _Signed(contents, links)

    chain_out = []
    for name in chains:
        seq, head_hash = heads[name]
        headers = [
            _link_header(link)
            for link in ChainLink.objects.filter(chain=name, seq__lte=seq).order_by("seq")
        ]
        chain_out.append({"chain": name, "head": {"seq": seq, "hash": head_hash}, "links": headers})

    # forecast: counters-based due items of the aircraft and its fitted parts
    result = forecasting.forecast(
        as_of=as_of, aircraft=Aircraft.objects.filter(pk=ac.pk), stores=False
    )
    due_rows = {(row.task_code, row.part_pk): row for row in result.rows}
    status = next((s for s in result.aircraft_status if s.pk == ac.pk), None)
    counters = fleet.aircraft_counters([ac], as_of)[ac.pk]
    part_used = fleet.part_counters([i.part for i in fitted], as_of)

    titles = {r.task_id: r.title for r in revisions}
    corrected = {c.corrects_id for c in compliances if c.corrects_id}
    history_compliance = [
        signed.entry(
            "maintenance.compliance",
            c,
            title=titles.get(c.task_id, ""),
            on=c.aircraft.serial if c.aircraft_id else str(c.part),
            corrected=c.pk in corrected,
        )
        for c in compliances
    ]
    by_card: dict[int, list[Any]] = {}
    for s in signoffs:
        by_card.setdefault(s.card_id, []).append(s)
    corrected_signoffs = {s.corrects_id for s in signoffs if s.corrects_id}
    supervised_of: dict[int, list[Any]] = {}
    for e in supervised:
        supervised_of.setdefault(e.card_id, []).append(e)
    decline_of = {d.entry_id: d for d in declines}
    release_of = {r.package_id: r for r in releases}
    cards_of: dict[int, list[Any]] = {}
    for card in cards:
        cards_of.setdefault(card.package_id, []).append(card)

    def card_entry(card: Any) -> dict[str, Any]:
        return {
            "seq": card.seq,
            "title": card.title,
            "ata": card.ata,
            "critical": card.critical,
            "status": card.status,
            "task": card.task.code if card.task_id else None,
            "revision": card.revision.number if card.revision_id else None,
            "part": str(card.part) if card.part_id else None,
            "defect": card.defect.number if card.defect_id else None,
            "tools": card.tools,
            "parts_required": card.parts_required,
            "references": card.references,
            "steps": [
                {
                    "seq": step.seq,
                    "kind": step.kind,
                    "text": step.text,
                    "reference": step.reference,
                    "measure": step.measure_name,
                    "unit": step.measure_unit,
                    "limits": step.limits_text,
                    "position": step.position.code if step.position_id else None,
                }
                for step in card.steps.all()
            ],
            "signoffs": [
                signed.entry(
                    "work.signoff",
                    s,
                    step=s.step.seq if s.step_id else None,
                    part=str(s.part) if s.part_id else None,
                    corrected=s.pk in corrected_signoffs,
                )
                for s in by_card.get(card.pk, [])
            ],
            # trainees' steps under supervision: countersigned by a sign-off above
            # (its ``supervised``), or declined
            "supervised": [
                signed.entry(
                    "work.supervisedstep",
                    e,
                    step=e.step.seq,
                    declined=(
                        signed.entry("work.supervisiondecline", decline_of[e.pk])
                        if e.pk in decline_of
                        else None
                    ),
                )
                for e in supervised_of.get(card.pk, [])
            ],
        }

    history_packages = []
    for p in packages:
        release = release_of.get(p.pk)
        history_packages.append(
            {
                "number": p.number,
                "title": p.title,
                "status": p.status,
                "planned_start": _date(p.planned_start),
                "planned_end": _date(p.planned_end),
                "created_at": instant(p.created_at),
                "opened_at": instant(p.opened_at),
                "started_at": instant(p.started_at),
                "completed_at": instant(p.completed_at),
                "released_at": instant(p.released_at),
                "cards": [card_entry(c) for c in cards_of.get(p.pk, [])],
                "release": signed.entry("work.release", release) if release else None,
            }
        )
    deferrals_of: dict[int, list[Any]] = {}
    for d in deferrals:
        deferrals_of.setdefault(d.defect_id, []).append(d)
    closure_of = {c.defect_id: c for c in closures}
    card_name = {c.pk: f"{c.package.number}/{c.seq}" for c in cards} if cards else {}
    history_defects = []
    for d in defects:
        closure = closure_of.get(d.pk)
        history_defects.append(
            {
                "number": d.number,
                "ata": d.ata,
                "description": d.description,
                "source": d.source,
                "source_ref": d.source_ref,
                "found_at": instant(d.found_at),
                "raised_at": instant(d.raised_at),
                "status": d.status,
                "deadline": instant(d.deadline),
                "closed_at": instant(d.closed_at),
                "deferrals": [signed.entry("work.deferral", x) for x in deferrals_of.get(d.pk, [])],
                "closure": signed.entry(
                    "work.defectclosure", closure, card=card_name.get(closure.card_id)
                )
                if closure
                else None,
            }
        )

    configuration = [
        {
            "position": s.position.code,
            "name": s.position.name,
            "ata": s.position.ata,
            "depth": s.depth,
            "part": {"pn": s.installation.part.part_number.pn, "serial": s.installation.part.serial}
            if s.installation
            else None,
            "installed_at": instant(s.installation.installed_at) if s.installation else None,
            "reference": s.installation.reference if s.installation else None,
        }
        for s in slots
    ]

    life_limited = []
    for inst in fitted:
        part = inst.part
        for rev in revisions:
            if rev.kind != TaskKind.LIFE_LIMIT or rev.part_number_id != part.part_number_id:
                continue
            row = due_rows.get((rev.task.code, part.pk))
            used = part_used.get(part.pk)
            life_limited.append(
                {
                    "pn": part.part_number.pn,
                    "serial": part.serial,
                    "position": inst.position.code,
                    "task": rev.task.code,
                    "title": rev.title,
                    "limit": rev.units("threshold"),
                    "used": {
                        "FH": round(used.fh, 2) if used else None,
                        "FC": used.fc if used else None,
                        "DY": (as_of.date() - part.manufactured).days,
                    },
                    "due": _units(row.due) if row else None,
                    "remaining": row.remaining if row else None,
                    "due_date": _date(row.due_date) if row else None,
                    "status": row.status if row else None,
                }
            )

    variant_tasks = [
        r
        for r in once
        if not r.part_number_id and any(v.pk == ac.variant_id for v in r.variants.all())
    ]
    done_on: dict[tuple[int, int | None], Any] = {}
    for c in compliances:
        if c.pk in corrected or c.done_at > as_of:
            continue
        if c.aircraft_id == ac.pk or c.part_id is not None:
            done_on.setdefault((c.task_id, c.part_id), c)
    targets: list[tuple[Any, Any]] = [(rev, None) for rev in variant_tasks]
    targets += [
        (once_pn[i.part.part_number_id], i.part) for i in fitted if i.part.part_number_id in once_pn
    ]
    directives = []
    for rev, part in targets:
        done = done_on.get((rev.task_id, part.pk if part else None))
        row = due_rows.get((rev.task.code, part.pk if part else None))
        item: dict[str, Any] = {
            "task": rev.task.code,
            "title": rev.title,
            "ata": rev.ata,
            "applies_to": str(part) if part else ac.serial,
            "done": done is not None,
        }
        if done is not None:
            item.update(
                record=f"maintenance.compliance:{done.pk}",
                done_at=instant(done.done_at),
                performed_by_label=done.performed_by_label,
                reference=done.reference,
                status="done",
            )
        else:
            item.update(
                due=_units(row.due) if row else None,
                remaining=row.remaining if row else None,
                due_date=_date(row.due_date) if row else None,
                status=row.status if row else "not forecast",
            )
        directives.append(item)
    directives.sort(key=lambda d: (d["task"], d["applies_to"]))

    data = {
        "format": FORMAT,
        "version": VERSION,
        "as_of": instant(as_of),
        "aircraft": {
            "serial": ac.serial,
            "type": ac.variant.aircraft_type.code,
            "type_name": ac.variant.aircraft_type.name,
            "variant": ac.variant.code,
            "operator": {"code": ac.operator.code, "name": ac.operator.name},
            "delivered": _date(ac.delivered),
            "status": ac.status,
            "counters": {"FH": round(counters.fh, 2), "FC": counters.fc},
            "airworthiness": {
                "status": status.status if status else None,
                "reasons": status.reasons if status else [],
            },
        },
        "history": {
            "compliance": history_compliance,
            "packages": history_packages,
            "defects": history_defects,
        },
        "configuration": configuration,
        "life_limited_parts": life_limited,
        "directives": directives,
        "records": {
            "count": len(records),
            "chains": [
                {"chain": c["chain"], "head": c["head"]["seq"], "head_hash": c["head"]["hash"]}
                for c in chain_out
            ],
        },
    }
    return data, records, chain_out


def _prepare(directory: Path) -> None:
    """An empty or missing folder, or a previous package (its files are replaced)."""
    if not directory.exists():
        return
    if not directory.is_dir():
        raise ExportError(f"{directory} is not a folder")
    names = {p.name for p in directory.iterdir()}
    if not names:
        return
    if MANIFEST in names and names <= {MANIFEST, *FILES}:
        return
    raise ExportError(
        f"{directory} is not empty and is not a record package: "
        "give an empty or new folder (or a previous package to replace)"
    )


def export(
    aircraft: Any, directory: str | os.PathLike[str], as_of: dt.datetime | None = None
) -> dict[str, Any]:
    """Write the record package of ``aircraft`` into ``directory`` (new, empty, or a
    previous package, whose files are replaced). Returns the manifest."""
    from django.db import transaction
    from django.utils import timezone

    from kanat.records.pdf import package_pdf

    target = Path(directory)
    _prepare(target)
    at = (as_of or timezone.now()).astimezone(dt.UTC)
    with transaction.atomic():
        data, records, chains = _collect(aircraft, at)
    data["exported_at"] = instant(timezone.now())
    blobs = {
        "package.json": _dump(data),
        "records.json": _dump({"format": FORMAT, "version": VERSION, "records": records}),
        "chain.json": _dump({"format": FORMAT, "version": VERSION, "chains": chains}),
    }
    # rendered from package.json as written: the same file renders to the same bytes
    blobs["report.pdf"] = package_pdf(json.loads(blobs["package.json"]))
    files = {name: hashlib.sha256(blob).hexdigest() for name, blob in blobs.items()}
    manifest = {
        "format": FORMAT,
        "version": VERSION,
        "aircraft": data["aircraft"]["serial"],
        "as_of": data["as_of"],
        "exported_at": data["exported_at"],
        "files": files,
        "package_sha256": package_sha256(files),
    }
    blobs[MANIFEST] = _dump(manifest)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    umask = os.umask(0)
    os.umask(umask)
    staging.chmod(0o777 & ~umask)  # mkdtemp's 0700 would stay on the renamed folder
    try:
        for name, blob in blobs.items():
            (staging / name).write_bytes(blob)
        if target.exists():
            for name in (MANIFEST, *FILES):  # the manifest first: a half-replaced package
                (target / name).unlink(missing_ok=True)  # never looks whole
            for name in (*FILES, MANIFEST):
                os.replace(staging / name, target / name)
            staging.rmdir()
        else:
            staging.rename(target)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return manifest


# --- verify ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    """The first thing wrong in a package: which file, which record, what."""

    file: str
    record: str | None
    problem: str

    def __str__(self) -> str:
        where = self.file + (f", {self.record}" if self.record else "")
        return f"{where}: {self.problem}"


@dataclass(frozen=True)
class Verified:
    aircraft: str
    as_of: str
    records: int
    chains: dict[str, int]
    package_sha256: str

    def __str__(self) -> str:
        chains = ", ".join(f"{c} #1-#{n}" for c, n in self.chains.items()) or "none"
        return (
            f"intact: record package of {self.aircraft} as of {self.as_of}, "
            f"{self.records} signed records, chains {chains}, package sha256 {self.package_sha256}"
        )


class _Bad(Exception):
    def __init__(self, file: str, record: str | None, problem: str) -> None:
        super().__init__(problem)
        self.found = Problem(file, record, problem)


def _load(directory: Path, name: str) -> Any:
    path = directory / name
    if not path.is_file():
        raise _Bad(name, None, "missing")
    try:
        return json.loads(path.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _Bad(name, None, f"not readable JSON ({exc})") from None


def _check_format(name: str, doc: Any) -> None:
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise _Bad(name, None, f"not a {FORMAT} file")
    if doc.get("version") != VERSION:
        raise _Bad(name, None, f"version {doc.get('version')!r}: this Kanat reads {VERSION}")


def _check_chains(doc: Any) -> dict[tuple[str, int], dict[str, Any]]:
    name = "chain.json"
    _check_format(name, doc)
    out: dict[tuple[str, int], dict[str, Any]] = {}
    chains = doc.get("chains")
    if not isinstance(chains, list):
        raise _Bad(name, None, "no list of chains")
    for c in chains:
        chain = c.get("chain")
        prev, expected = ZERO, 1
        for link in c.get("links", []):
            where = f"chain {chain} #{link.get('seq')} ({link.get('subject')})"
            if not all(k in link for k in (*HASHED, "hash")) or link.get("chain") != chain:
                raise _Bad(name, where, "an incomplete link, or one of another chain")
            if link["seq"] != expected:
                raise _Bad(
                    name,
                    f"chain {chain} #{expected}",
                    f"link #{expected} is missing (the next is #{link['seq']})",
                )
            if link["prev_hash"] != prev:
                raise _Bad(name, where, "does not follow the link before it")
            if header_hash(link) != link["hash"]:
                raise _Bad(name, where, "the link's fields do not hash to its hash (altered)")
            out[(chain, link["seq"])] = link
            prev, expected = link["hash"], expected + 1
        head = c.get("head") or {}
        if head.get("seq") != expected - 1 or head.get("hash") != prev:
            raise _Bad(
                name,
                f"chain {chain} head",
                f"the head (#{head.get('seq')}) is not the last link (#{expected - 1}): "
                "links were removed from its end, or the head was altered",
            )
    return out


def _check_records(
    doc: Any, links: dict[tuple[str, int], dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    name = "records.json"
    _check_format(name, doc)
    out: dict[str, dict[str, Any]] = {}
    for r in doc.get("records", []):
        key = r.get("record")
        link, content = r.get("link") or {}, r.get("content")
        if key in out:
            raise _Bad(name, key, "listed twice")
        if link.get("subject") != key:
            raise _Bad(name, key, f"its link signs {link.get('subject')}, not this record")
        if sha256(content) != link.get("content_sha256"):
            raise _Bad(
                name, key, "the content differs from what was signed (does not hash to its link)"
            )
        where = (link.get("chain"), link.get("seq"))
        in_chain = links.get(where)  # type: ignore[arg-type]
        if in_chain is None:
            raise _Bad(name, key, f"its link (chain {where[0]} #{where[1]}) is not in chain.json")
        if in_chain != link:
            raise _Bad(
                name, key, f"its link differs from chain {where[0]} #{where[1]} in chain.json"
            )
        out[key] = r
    return out


def _entries(value: Any, path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every object that names a record, with where it is in package.json."""
    if isinstance(value, dict):
        if "record" in value:
            yield path, value
        for k, v in value.items():
            yield from _entries(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _entries(v, f"{path}[{i}]")


def _check_history(doc: Any, records: dict[str, dict[str, Any]]) -> tuple[str, str]:
    name = "package.json"
    _check_format(name, doc)
    aircraft = (doc.get("aircraft") or {}).get("serial")
    if not isinstance(doc.get("history"), dict):
        raise _Bad(name, None, "no maintenance history")
    seen: dict[str, str] = {}
    for path, entry in _entries(doc, "$"):
        key = entry["record"]
        rec = records.get(key)
        if rec is None:
            raise _Bad(name, key, f"{path} names a record that records.json does not hold")
        label = key.split(":", 1)[0]
        content, link = rec["content"], rec["link"]
        history = path.startswith("$.history")
        if history:
            if key in seen:
                raise _Bad(name, key, f"in the history twice ({seen[key]} and {path})")
            seen[key] = path
            missing = [k for k in SHOWN.get(label, ()) if k not in entry]
            if missing:
                raise _Bad(name, key, f"{path} leaves out signed fields: {', '.join(missing)}")
        for k, v in entry.items():
            if k in content:
                if v != content[k]:
                    raise _Bad(
                        name, key, f"{path}.{k} is {v!r} but the signed record says {content[k]!r}"
                    )
            elif k in LINK_FIELDS and history and v != link.get(k):
                raise _Bad(name, key, f"{path}.{k} is {v!r} but its signature says {link.get(k)!r}")
    left_out = sorted(set(records) - set(seen))
    if left_out:
        raise _Bad(name, left_out[0], "a signed record of the package is not in the history")
    return str(aircraft), str(doc.get("as_of"))


def _check(directory: Path) -> Verified:
    if not directory.is_dir():
        raise _Bad(str(directory), None, "not a folder")
    manifest = _load(directory, MANIFEST)
    _check_format(MANIFEST, manifest)
    files = manifest.get("files")
    if not isinstance(files, dict) or set(files) != set(FILES):
        raise _Bad(MANIFEST, None, f"does not list exactly {', '.join(FILES)}")
    for name in (*FILES,):
        if not (directory / name).is_file():
            raise _Bad(name, None, "missing")
    extra = sorted({p.name for p in directory.iterdir()} - {MANIFEST, *FILES})
    if extra:
        raise _Bad(extra[0], None, "not part of the package")
    links = _check_chains(_load(directory, "chain.json"))
    records = _check_records(_load(directory, "records.json"), links)
    data = _load(directory, "package.json")
    aircraft, as_of = _check_history(data, records)
    heads = [
        {"chain": c, "head": seq, "head_hash": link["hash"]}
        for (c, seq), link in sorted(links.items())
        if (c, seq + 1) not in links
    ]
    if (data.get("records") or {}).get("chains") != heads:
        raise _Bad("package.json", None, "$.records.chains does not name the heads of chain.json")
    for name in FILES:
        if file_sha256(directory / name) != files[name]:
            raise _Bad(name, None, "altered: its SHA-256 differs from the manifest's")
    own = package_sha256(files)
    if manifest.get("package_sha256") != own:
        raise _Bad(MANIFEST, None, "the package's own hash does not match its files")
    if manifest.get("aircraft") != aircraft or manifest.get("as_of") != as_of:
        raise _Bad(MANIFEST, None, "names another aircraft or instant than package.json")
    chains: dict[str, int] = {}
    for chain, seq in links:
        chains[chain] = max(seq, chains.get(chain, 0))
    return Verified(aircraft, as_of, len(records), dict(sorted(chains.items())), own)


def verify_package(directory: str | os.PathLike[str]) -> Problem | Verified:
    """Check a package offline: every link of its chains recomputes and follows the one
    before it up to the head, every record hashes to its link, the history repeats the
    signed records faithfully and leaves none out, and every file is the one the manifest
    hashed. The first problem found, or what was verified."""
    try:
        return _check(Path(directory))
    except _Bad as bad:
        return bad.found
