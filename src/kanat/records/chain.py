"""Signing records into their operator's hash chain, and verifying every chain.

A record's *content* is a canonical JSON object of its fields (``SUBJECTS`` says, per model,
which), hashed with SHA-256. A link's hash covers the chain, its sequence number, the kind of
record, which record, the content hash, the signer, their qualification reference, the UTC
instant and the previous link's hash, so changing, removing or inserting anything, in the
record's table or in the chain, shows in ``verify``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, Model, OuterRef

from kanat.core.models import Operator, User
from kanat.records.canonical import ZERO, canonical_json, header_hash, instant, sha256
from kanat.records.models import ChainHead, ChainLink

__all__ = ["ZERO", "canonical_json", "sha256", "instant", "sign", "verify", "verify_chain"]

BATCH = 2000


@dataclass(frozen=True)
class Subject:
    """A model whose rows are signed records: how to load them and what their content is."""

    label: str  # app_label.model_name
    model: Callable[[], type[Model]]
    related: tuple[str, ...]
    content: Callable[[Any], dict[str, Any]]


def _compliance_content(c: Any) -> dict[str, Any]:
    return {
        "task": c.task.code,
        "aircraft": c.aircraft.serial if c.aircraft_id else None,
        "part": [c.part.part_number.pn, c.part.serial] if c.part_id else None,
        "operator": c.operator_id,
        "done_at": instant(c.done_at),
        "stated_fh": _number(c.stated_fh),
        "stated_fc": _number(c.stated_fc),
        "performed_by": c.performed_by_id,
        "performed_by_label": c.performed_by_label,
        "reference": c.reference,
        "corrects": c.corrects_id,
        "correction_reason": c.correction_reason,
        "recorded_at": instant(c.recorded_at),
    }


def _compliance_model() -> type[Model]:
    from kanat.maintenance.models import Compliance

    return Compliance


def _number(value: Any) -> Any:
    """A float as stored: -0.0 reads back as 0.0 (adding 0.0 makes it so)."""
    return value + 0.0 if isinstance(value, float) else value


def _row_content(row: Any) -> dict[str, Any]:
    """Every stored field of a signed row (foreign keys as ids, instants in UTC), and the
    ids of its many-to-many links (a release's compliance records)."""
    out: dict[str, Any] = {}
    for f in row._meta.concrete_fields:
        value = getattr(row, f.attname)
        if value is not None and not f.is_relation:
            value = _number(f.to_python(value))  # as read back: 90 given is 90.0 stored
        if isinstance(value, dt.datetime):
            value = instant(value)
        elif isinstance(value, dt.date):
            value = value.isoformat()
        out[f.attname] = value
    for f in row._meta.many_to_many:
        out[f.name] = sorted(getattr(row, f.name).values_list("pk", flat=True))
    return out


# What a work signature is about, signed with it: the card and step as the signer saw them
# (editing a step's limits or a card's task afterwards shows in verify).


def _card(card: Any) -> dict[str, Any]:
    return {
        "package": card.package.number,
        "aircraft": card.package.aircraft.serial,
        "seq": card.seq,
        "task": card.task.code if card.task_id else None,
        "revision": card.revision.number if card.revision_id else None,
        "part": [card.part.part_number.pn, card.part.serial] if card.part_id else None,
        "defect": card.defect.number if card.defect_id else None,
        "title": card.title,
        "ata": card.ata,
        "critical": card.critical,
    }


def _step(step: Any) -> dict[str, Any]:
    return {
        "seq": step.seq,
        "kind": step.kind,
        "text": step.text,
        "reference": step.reference,
        "measure": [
            step.measure_name,
            step.measure_unit,
            _number(step.measure_min),
            _number(step.measure_max),
        ],
        "position": step.position.code if step.position_id else None,
    }


def _defect(defect: Any) -> dict[str, Any]:
    return {
        "number": defect.number,
        "aircraft": defect.aircraft.serial,
        "ata": defect.ata,
        "description": defect.description,
        "found_at": instant(defect.found_at),
    }


def _signoff_content(row: Any) -> dict[str, Any]:
    out = _row_content(row)
    out["about"] = {"card": _card(row.card), "step": _step(row.step) if row.step_id else None}
    return out


def _release_content(row: Any) -> dict[str, Any]:
    out = _row_content(row)
    cards = row.package.cards.select_related(
        "package__aircraft", "task", "revision", "part__part_number", "defect"
    ).order_by("seq")
    out["about"] = {"package": row.package.number, "cards": [_card(c) for c in cards]}
    return out


def _deferral_content(row: Any) -> dict[str, Any]:
    out = _row_content(row)
    out["about"] = {"defect": _defect(row.defect)}
    return out


def _closure_content(row: Any) -> dict[str, Any]:
    out = _row_content(row)
    out["about"] = {"defect": _defect(row.defect), "card": _card(row.card)}
    return out


def _model(app: str, name: str) -> Callable[[], type[Model]]:
    def model() -> type[Model]:
        from django.apps import apps

        return apps.get_model(app, name)

    return model


_CARD = ("package__aircraft", "task", "revision", "part__part_number", "defect")

SUBJECTS: dict[str, Subject] = {
    "maintenance.compliance": Subject(
        "maintenance.compliance",
        _compliance_model,
        ("task", "aircraft", "part__part_number"),
        _compliance_content,
    ),
    "work.signoff": Subject(
        "work.signoff",
        _model("work", "signoff"),
        (*(f"card__{r}" for r in _CARD), "step__position"),
        _signoff_content,
    ),
    "work.release": Subject(
        "work.release", _model("work", "release"), ("package__aircraft",), _release_content
    ),
    "work.deferral": Subject(
        "work.deferral", _model("work", "deferral"), ("defect__aircraft",), _deferral_content
    ),
    "work.supervisedstep": Subject(
        "work.supervisedstep",
        _model("work", "supervisedstep"),
        (*(f"card__{r}" for r in _CARD), "step__position"),
        _signoff_content,
    ),
    "work.supervisiondecline": Subject(
        "work.supervisiondecline", _model("work", "supervisiondecline"), (), _row_content
    ),
    "training.stagegrant": Subject(
        "training.stagegrant", _model("training", "stagegrant"), ("stage",), _row_content
    ),
    "training.stagewithdrawal": Subject(
        "training.stagewithdrawal", _model("training", "stagewithdrawal"), (), _row_content
    ),
    "work.defectclosure": Subject(
        "work.defectclosure",
        _model("work", "defectclosure"),
        ("defect__aircraft", *(f"card__{r}" for r in _CARD)),
        _closure_content,
    ),
}


def chain_name(operator_id: int | None) -> str:
    """One chain per operator (its code), and the hub's own."""
    if operator_id is None:
        return "hub"
    return str(Operator.objects.values_list("code", flat=True).get(pk=operator_id))


def link_header(link: ChainLink) -> dict[str, Any]:
    """The link as text: the fields its hash covers (``canonical.HASHED``) and the hash."""
    return {
        "chain": link.chain,
        "seq": link.seq,
        "kind": link.kind,
        "subject": f"{link.subject_model}:{link.subject_id}",
        "content_sha256": link.content_sha256,
        "signer": link.signer_id,
        "signer_label": link.signer_label,
        "qualification_ref": link.qualification_ref,
        "signed_at": instant(link.signed_at),
        "prev_hash": link.prev_hash,
        "hash": link.hash,
    }


def link_hash(link: ChainLink) -> str:
    return header_hash(link_header(link))


def _locked_head(chain: str, operator_id: int | None) -> ChainHead:
    head = ChainHead.objects.select_for_update().filter(pk=chain).first()
    if head is not None:
        return head
    try:
        with transaction.atomic():
            ChainHead.objects.create(chain=chain, operator_id=operator_id)
    except IntegrityError:  # another writer made it first
        pass
    return ChainHead.objects.select_for_update().get(pk=chain)


def sign(
    record: Model,
    *,
    kind: str,
    operator_id: int | None,
    signer: User | None,
    signer_label: str,
    qualification_ref: str,
    at: dt.datetime,
) -> ChainLink:
    """Append the link of a record just written, in the caller's transaction."""
    if not connection.in_atomic_block:
        raise RuntimeError("a record is signed inside the transaction that writes it")
    label = record._meta.label_lower
    subject = SUBJECTS[label]
    chain = chain_name(operator_id)
    head = _locked_head(chain, operator_id)
    link = ChainLink(
        chain=chain,
        seq=head.seq + 1,
        operator_id=operator_id,
        kind=kind,
        subject_model=label,
        subject_id=record.pk,
        content_sha256=sha256(subject.content(record)),
        signer=signer,
        signer_label=signer_label,
        qualification_ref=qualification_ref,
        signed_at=at.astimezone(dt.UTC),
        prev_hash=head.hash,
    )
    link.hash = link_hash(link)
    link.save()
    ChainHead.objects.filter(pk=chain).update(seq=link.seq, hash=link.hash)
    return link


@dataclass(frozen=True)
class Break:
    """The first thing wrong in a chain (or a record with no link)."""

    chain: str
    seq: int | None
    subject: str
    problem: str

    def __str__(self) -> str:
        where = f"chain {self.chain}" + (f", record #{self.seq}" if self.seq else "")
        return f"{where} ({self.subject}): {self.problem}"


def _links(chain: str) -> Iterator[ChainLink]:
    last = 0
    while True:
        batch = list(ChainLink.objects.filter(chain=chain, seq__gt=last).order_by("seq")[:BATCH])
        if not batch:
            return
        yield from batch
        last = batch[-1].seq


def _contents(links: list[ChainLink]) -> dict[tuple[str, int], str]:
    """Content hashes of the records these links name, recomputed from their tables."""
    out: dict[tuple[str, int], str] = {}
    by_model: dict[str, list[int]] = {}
    for link in links:
        by_model.setdefault(link.subject_model, []).append(link.subject_id)
    for label, ids in by_model.items():
        subject = SUBJECTS.get(label)
        if subject is None:
            continue
        rows = subject.model().objects.select_related(*subject.related).filter(pk__in=ids)
        for row in rows:
            out[(label, row.pk)] = sha256(subject.content(row))
    return out


def verify_chain(chain: str) -> Break | None:
    head = ChainHead.objects.filter(pk=chain).first()
    prev, expected = ZERO, 1
    batch: list[ChainLink] = []

    def check(batch: list[ChainLink]) -> Break | None:
        contents = _contents(batch)
        for link in batch:
            subject = f"{link.subject_model} {link.subject_id}"
            if link.subject_model not in SUBJECTS:
                return Break(chain, link.seq, subject, "names a kind of record Kanat does not sign")
            got = contents.get((link.subject_model, link.subject_id))
            if got is None:
                return Break(chain, link.seq, subject, "the signed record is missing (deleted)")
            if got != link.content_sha256:
                return Break(
                    chain, link.seq, subject, "the record differs from what was signed (altered)"
                )
        return None

    for link in _links(chain):
        subject = f"{link.subject_model} {link.subject_id}"
        if link.seq != expected:
            return Break(
                chain, expected, subject, f"record #{expected} is missing (the next is #{link.seq})"
            )
        if link.prev_hash != prev:
            return Break(chain, link.seq, subject, "does not follow the record before it")
        if link_hash(link) != link.hash:
            return Break(chain, link.seq, subject, "the signature's fields were altered")
        prev, expected = link.hash, expected + 1
        batch.append(link)
        if len(batch) >= BATCH:
            if (found := check(batch)) is not None:
                return found
            batch = []
    if batch and (found := check(batch)) is not None:
        return found
    last = expected - 1
    head_seq, head_hash = (head.seq, head.hash) if head is not None else (0, ZERO)
    if head_seq > last:
        gone = f"#{head_seq}" if head_seq == last + 1 else f"#{last + 1} to #{head_seq}"
        return Break(chain, last + 1, "chain head", f"records {gone} were removed from its end")
    if head_seq != last or head_hash != prev:
        return Break(chain, last, "chain head", "the chain's head does not match its last record")
    return None


def unsigned() -> Break | None:
    """The first signed-kind record that has no link (inserted behind the app's back)."""
    for label, subject in SUBJECTS.items():
        model = subject.model()
        links = ChainLink.objects.filter(subject_model=label, subject_id=OuterRef("pk"))
        row = model.objects.filter(~Exists(links)).order_by("pk").values_list("pk", flat=True)
        first = row.first()
        if first is not None:
            return Break("-", None, f"{label} {first}", "has no signature (inserted directly)")
    return None


def verify() -> list[Break]:
    """Every chain checked; the first break of each, then the first unsigned record."""
    chains = set(ChainHead.objects.values_list("chain", flat=True))
    chains |= set(ChainLink.objects.values_list("chain", flat=True).distinct())
    breaks = [b for c in sorted(chains) if (b := verify_chain(c)) is not None]
    if (orphan := unsigned()) is not None:
        breaks.append(orphan)
    return breaks
