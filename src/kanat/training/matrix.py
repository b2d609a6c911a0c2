"""The competence matrix: for a person or a team (the people of a role, or every trainee),
what each must have and whether they have it, and what each has done, how often.

Rows are people; columns are the requirements that apply to them: their role's
``Requirement`` rows, and the requirements of their next stage on each ladder they are on
(a trainee is on every type's ladder; anyone else on the ladders they hold a grant on). A cell
says met or not with the detail (a course current until a date or expired, a practical
assessment passed, steps logged N of M in a chapter). "Done" counts each person's logged
steps by aircraft type and ATA chapter, under supervision and alone.

The reads are bulk: a team of any size costs the same handful of queries (certificates,
assessments, qualifications and logged steps are each one query for the whole team).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q

from kanat.core.models import User
from kanat.core.roles import Role
from kanat.fleet.models import AircraftType
from kanat.people.models import Qualification
from kanat.training import selectors
from kanat.training.models import (
    Requirement,
    RequirementKind,
    Stage,
    StageGrant,
    Trainee,
)
from kanat.work.models import SignOff, SignOffKind

TRAINEES = "trainees"


@dataclass(frozen=True)
class Column:
    """One requirement as a column: what it asks, and for what (the role, or a stage)."""

    key: str
    requirement: Requirement
    label: str
    applies_to: str  # "role Technician" or "next stage Independent (ANKA)"
    stage: Stage | None = None


@dataclass
class Cell:
    met: bool
    detail: str


@dataclass
class Done:
    """Logged steps of one person on one aircraft type in one ATA chapter."""

    aircraft_type: str
    chapter: str
    supervised: int = 0
    alone: int = 0

    @property
    def total(self) -> int:
        return self.supervised + self.alone


@dataclass
class Ladder:
    """Where a person stands on one type's ladder: the stage in force (None: none yet)
    and the next one up (None: the top)."""

    aircraft_type: AircraftType
    current: StageGrant | None
    next: Stage | None
    # grants above the current one that lapsed (recurrent training) or were withdrawn, with why
    fallen: list[tuple[StageGrant, str, str]] = field(default_factory=list)


@dataclass
class Row:
    person: User
    trainee: Trainee | None
    ladders: list[Ladder] = field(default_factory=list)
    cells: dict[str, Cell] = field(default_factory=dict)
    done: list[Done] = field(default_factory=list)
    # for templates: the cells in the matrix's column order (None: does not apply), and the
    # counts in the order of the matrix's (type, chapter) keys
    ordered: list[Cell | None] = field(default_factory=list)
    done_ordered: list[Done | None] = field(default_factory=list)

    @property
    def done_total(self) -> int:
        return sum(d.total for d in self.done)

    @property
    def met(self) -> int:
        return sum(1 for c in self.cells.values() if c.met)

    @property
    def missing(self) -> int:
        return sum(1 for c in self.cells.values() if not c.met)

    def cell_list(self, columns: Sequence[Column]) -> list[tuple[Column, Cell | None]]:
        """The row's cells in column order (None: the requirement does not apply)."""
        return [(c, self.cells.get(c.key)) for c in columns]

    def done_for(self, keys: Sequence[tuple[str, str]]) -> list[Done | None]:
        by_key = {(d.aircraft_type, d.chapter): d for d in self.done}
        return [by_key.get(k) for k in keys]


@dataclass
class Matrix:
    at: dt.datetime
    columns: list[Column]
    rows: list[Row]

    @property
    def done_keys(self) -> list[tuple[str, str]]:
        """Every (aircraft type, chapter) anybody in the team has logged steps in."""
        return sorted({(d.aircraft_type, d.chapter) for r in self.rows for d in r.done})

    def row_of(self, person: User) -> Row | None:
        return next((r for r in self.rows if r.person.pk == person.pk), None)

    def person_cells(self, person: User) -> list[tuple[Column, Cell]]:
        """One person's applicable requirements with their cells (the person page)."""
        row = self.row_of(person)
        if row is None:
            return []
        return [(c, cell) for c, cell in row.cell_list(self.columns) if cell is not None]


# --- who is in a team ------------------------------------------------------------------------


def team(viewer: Any, *, role: str = "", trainees: bool = False) -> list[User]:
    """The active people of a role, or every registered trainee, as the viewer may see
    them (``restrict``), by username."""
    qs = User.objects.restrict(viewer).filter(is_active=True).select_related("operator")
    if trainees:
        qs = qs.filter(pk__in=Trainee.objects.restrict(viewer).values("person_id"))
    elif role:
        if role not in Role.values:
            raise ValueError(f"no role {role!r}")
        qs = qs.filter(role=role)
    else:
        return []
    return list(qs.order_by("username"))


# --- the matrix ------------------------------------------------------------------------------


def logged_steps(
    viewer: Any, person_ids: list[int], at: dt.datetime
) -> dict[int, dict[tuple[int, str, bool], int]]:
    """person -> (aircraft type id, ATA chapter, supervised) -> logged steps by ``at``: the
    same rows as ``selectors.logbook`` (standing step sign-offs, performed under supervision
    or signed alone), the viewer's scope, one grouped query for the whole team."""
    out: dict[int, dict[tuple[int, str, bool], int]] = defaultdict(Counter)  # type: ignore[arg-type]
    if not person_ids:
        return out
    ids = set(person_ids)
    rows = (
        SignOff.objects.restrict(viewer)
        .filter(kind=SignOffKind.STEP, corrected_by__isnull=True, signed_at__lte=at)
        .filter(
            Q(performed_by_id__in=person_ids)
            | Q(signer_id__in=person_ids, performed_by__isnull=True)
        )
        .values_list(
            "performed_by_id",
            "signer_id",
            "card__package__aircraft__variant__aircraft_type_id",
            "card__ata",
        )
        .annotate(n=Count("id"))
        .order_by()
    )
    for performer, signer, type_id, ata, n in rows:
        supervised = performer is not None
        person = performer if supervised else signer
        if person in ids:
            out[person][(type_id, selectors.chapter(ata), supervised)] += n
    return out


def _ladders(
    people: list[User],
    trainee_ids: set[int],
    grants: dict[int, list[tuple[StageGrant, str, str]]],
    stages: dict[int, list[Stage]],
) -> dict[int, list[Ladder]]:
    """Each person's standing on the ladders they are on: a trainee on every type's ladder,
    anyone else on the types they hold (or held) a grant on."""
    out: dict[int, list[Ladder]] = {}
    for person in people:
        mine = grants.get(person.pk, [])
        types = (
            set(stages)
            if person.pk in trainee_ids
            else {g.stage.aircraft_type_id for g, _, _ in mine}
        )
        ladders = []
        for type_id in sorted(types, key=lambda t: stages[t][0].aircraft_type.code):
            current = selectors.current_stage(mine, type_id)
            rank = current.stage.rank if current else 0
            nxt = next((s for s in stages[type_id] if s.rank > rank), None)
            fallen = [
                (g, state, why)
                for g, state, why in mine
                if g.stage.aircraft_type_id == type_id
                and g.stage.rank > rank
                and state != selectors.IN_FORCE_STAGE
            ]
            ladders.append(Ladder(stages[type_id][0].aircraft_type, current, nxt, fallen))
        out[person.pk] = ladders
    return out


def _check(
    req: Requirement,
    person: User,
    type_id: int | None,
    at: dt.datetime,
    certs: dict[tuple[int, int], Any],
    practicals: dict[tuple[int, int], tuple[int, dt.datetime]],
    quals: dict[int, list[Qualification]],
    logged: dict[tuple[int, str, bool], int],
) -> Cell:
    """``selectors.requirement_check`` over the team's bulk reads. A role's requirement
    names no type: any type's qualification, every type's logged steps count."""
    by_chapter: Counter[str] = Counter()
    for (t, chap, _), n in logged.items():
        if type_id is None or t == type_id:
            by_chapter[chap] += n
    check = selectors.requirement_check(
        req, person, type_id, at, certs, by_chapter, practicals, quals
    )
    if req.kind == RequirementKind.EXPERIENCE:
        where = f"ATA {req.ata_chapter}" if req.ata_chapter else "any chapter"
        return Cell(check.met, f"{check.detail} ({where})")
    if req.kind == RequirementKind.ASSESSMENT and check.met:
        return Cell(True, f"practical {check.detail}")
    return Cell(check.met, check.detail)


def matrix(viewer: Any, people: Iterable[User], at: dt.datetime) -> Matrix:
    """The competence matrix of ``people`` at ``at`` as the viewer may see it."""
    people = list(people)
    ids = [p.pk for p in people]
    day = selectors.utc_day(at)
    trainees = {t.person_id: t for t in Trainee.objects.restrict(viewer).filter(person_id__in=ids)}
    certs = selectors.latest_certificates(ids, day)
    grants: dict[int, list[tuple[StageGrant, str, str]]] = defaultdict(list)
    for g in selectors._grants(ids):
        if g.granted_at <= at:
            grants[g.person_id].append((g, *selectors.grant_standing(g, at, certs)))
    stages: dict[int, list[Stage]] = defaultdict(list)
    for stage in (
        Stage.objects.select_related("aircraft_type")
        .prefetch_related("requirements__course")
        .order_by("aircraft_type__code", "rank")
    ):
        stages[stage.aircraft_type_id].append(stage)
    ladders = _ladders(people, set(trainees), grants, stages)
    roles = {p.role for p in people}
    role_reqs: dict[str, list[Requirement]] = defaultdict(list)
    for req in Requirement.objects.filter(
        stage__isnull=True, role__in=sorted(roles)
    ).select_related("course"):
        role_reqs[req.role].append(req)

    # the columns every row needs, in a stable order: roles first, then stages by type and rank
    columns: dict[str, Column] = {}
    applies: dict[int, list[tuple[Column, int | None]]] = {}
    for person in people:
        mine: list[tuple[Column, int | None]] = []
        for req in role_reqs.get(person.role, []):
            key = f"r{req.pk}"
            col = columns.setdefault(
                key, Column(key, req, str(req), f"role {Role(req.role).label}")
            )
            mine.append((col, None))
        for ladder in ladders[person.pk]:
            stage = ladder.next
            if stage is None:
                continue
            for req in sorted(stage.requirements.all(), key=lambda r: (r.kind, r.pk)):
                key = f"r{req.pk}"
                where = f"next stage {stage.name} ({ladder.aircraft_type.code})"
                col = columns.setdefault(key, Column(key, req, str(req), where, stage))
                mine.append((col, stage.aircraft_type_id))
        applies[person.pk] = mine
    ordered = sorted(
        columns.values(),
        key=lambda c: (
            c.stage is not None,
            c.stage.aircraft_type.code if c.stage else "",
            c.stage.rank if c.stage else 0,
            c.requirement.kind,
            c.requirement.pk,
        ),
    )

    course_ids = {
        c.requirement.course_id
        for c in ordered
        if c.requirement.kind == RequirementKind.ASSESSMENT and c.requirement.course_id
    }
    practicals = selectors.passed_practicals(ids, course_ids, at)
    needs_quals = any(c.requirement.kind == RequirementKind.QUALIFICATION for c in ordered)
    quals = selectors.qualifications_in_force(ids, at) if needs_quals else {}
    logged = logged_steps(viewer, ids, at)
    type_codes = {
        t.pk: t.code
        for t in AircraftType.objects.filter(
            pk__in={t for counts in logged.values() for t, _, _ in counts}
        )
    }

    rows = []
    for person in people:
        row = Row(person, trainees.get(person.pk), ladders[person.pk])
        mine_logged = logged.get(person.pk, {})
        for col, type_id in applies[person.pk]:
            row.cells[col.key] = _check(
                col.requirement, person, type_id, at, certs, practicals, quals, mine_logged
            )
        done: dict[tuple[str, str], Done] = {}
        for (type_id, chap, supervised), n in mine_logged.items():
            key = (type_codes.get(type_id, "?"), chap or "—")
            d = done.setdefault(key, Done(*key))
            if supervised:
                d.supervised += n
            else:
                d.alone += n
        row.done = [done[k] for k in sorted(done)]
        rows.append(row)
    out = Matrix(at, ordered, rows)
    keys = out.done_keys
    for row in rows:
        row.ordered = [row.cells.get(c.key) for c in ordered]
        row.done_ordered = row.done_for(keys)
    return out


# --- the proposals queue ---------------------------------------------------------------------


def proposals(
    viewer: Any, at: dt.datetime, *, include_unmet: bool = False
) -> list[selectors.Proposal]:
    """For each trainee the viewer may see and each type ladder, the next stage up: proposed
    when its evidence is met (``include_unmet``: with what is still missing otherwise).

    The same checks as ``selectors.evaluate`` (the stage below in force, then each
    requirement), read in bulk through the trainees' matrix: a fixed number of queries
    whatever the number of trainees."""
    out = []
    m = matrix(viewer, team(viewer, trainees=True), at)
    for row in m.rows:
        for ladder in row.ladders:
            stage = ladder.next
            if stage is None:
                continue
            ev = selectors.Evaluation(row.person, stage)
            if ladder.current is not None:
                # ``next`` is the first rung above the current one: the stage below it is held
                ev.checks.append(
                    selectors.Check(
                        f"stage {ladder.current.stage.name} held",
                        True,
                        ladder.current.number,
                        "stage",
                    )
                )
            for col in m.columns:
                if col.stage is not None and col.stage.pk == stage.pk:
                    cell = row.cells[col.key]
                    ev.checks.append(
                        selectors.Check(col.label, cell.met, cell.detail, col.requirement.kind)
                    )
            if ev.met or include_unmet:
                out.append(selectors.Proposal(ev, ladder.current))
    out.sort(key=lambda p: (not p.evaluation.met, p.evaluation.person.get_username()))
    return out
