"""Demo people and maintenance execution: licences and hub authorisations (all invented),
work packages in every state, signed at past instants by the demo people, and defects open,
deferred under each MEL category, expired and closed.

Everything goes through the services, as a hangar would: the signatures are checked against
the signer's authority at their instant and signed into the operators' record chains."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count

from kanat.core import services as core_services
from kanat.core.models import User
from kanat.core.roles import Role
from kanat.demo.fleet import DemoFleet
from kanat.fleet.models import Aircraft, AircraftType, Flight, Installation, Part
from kanat.maintenance.models import Task
from kanat.people import services as people
from kanat.people.models import Authorisation, Privilege, Qualification
from kanat.work import services as work
from kanat.work.models import Defect, DefectSource, StepKind, TaskCard, WorkPackage

#: the licensing authority the demo licences name; every licence number is invented
AUTHORITY = "Civil Aviation Committee of the Republic of Kazakhstan"
INVENTED = "(invented)"

TASK, INSPECTION, RELEASE = Privilege.TASK, Privilege.INSPECTION, Privilege.RELEASE


@dataclass
class DemoPeople:
    users: dict[str, User] = field(default_factory=dict)
    qualifications: dict[str, Qualification] = field(default_factory=dict)
    authorisations: dict[str, Authorisation] = field(default_factory=dict)


#: more hub staff (password demo), for the /people/ page and refusals: username, role,
#: first name, last name
STAFF = [
    ("askar", Role.TECHNICIAN, "Askar", "Technician (B1 lapsed)"),
    ("yerlan", Role.INSPECTOR, "Yerlan", "Inspector (authorisation withdrawn)"),
    ("aliya", Role.TECHNICIAN, "Aliya", "Avionics technician (B2)"),
    ("timur", Role.TECHNICIAN, "Timur", "Technician (starts next week)"),
]

#: avionics chapters of a B2 licence and authorisation: communications, indicating and
#: recording, navigation, integrated modular avionics, the payload turret
AVIONICS = ["23", "31", "34", "42", "46"]


def load_people(*, now: dt.datetime, go_live: dt.datetime, log: Any) -> DemoPeople:
    """Licences (invented numbers, Part-66-style categories) and hub authorisations
    (Part-145-style) for the demo users and a few more hub staff with a realistic spread:
    one licence lapsed, one authorisation withdrawn, one limited to avionics chapters, one
    not valid yet. ``planner`` holds none."""
    out = DemoPeople()
    users = {u.username: u for u in User.objects.all()}
    for username, role, first, last in STAFF:
        users[username] = core_services.create_user(
            actor=None,
            username=username,
            password=None,
            role=role,
            first_name=first,
            last_name=last,
        )
    # their password is demo too: the demo users' hash reused (hashing costs a third of a
    # second each, on every load of the demo)
    User.objects.filter(username__in=[s[0] for s in STAFF]).update(
        password=users["technician"].password
    )
    out.users = users
    hub = users["hub"]
    types = list(AircraftType.objects.order_by("code"))
    today = now.date()
    since = go_live - dt.timedelta(days=30)  # authorisations in force all the demo year

    def licence(
        username: str,
        category: str,
        number: int,
        *,
        issued: dt.date,
        expires: dt.date | None,
        chapters: list[str] | None = None,
    ) -> Qualification:
        q = people.grant_qualification(
            actor=hub,
            holder=users[username],
            category=category,
            reference=f"KZ.66.{number:04d} {INVENTED}",
            issuing_authority=AUTHORITY,
            aircraft_types=types,
            issued_on=issued,
            expires_on=expires,
            ata_chapters=chapters or (),
        )
        out.qualifications[f"{username}/{category}"] = q
        return q

    def authorise(
        username: str,
        number: str,
        q: Qualification,
        privileges: list[str],
        *,
        valid_from: dt.datetime = since,
        chapters: list[str] | None = None,
    ) -> Authorisation:
        a = people.grant_authorisation(
            actor=hub,
            holder=users[username],
            number=number,
            qualification=q,
            privileges=privileges,
            aircraft_types=types,
            valid_from=valid_from,
            ata_chapters=chapters or (),
        )
        out.authorisations[username] = a
        return a

    years = dt.timedelta(days=365)
    # the demo logins: a technician (task), an inspector and the hub administrator
    # (task, independent inspection, release to service)
    q = licence("technician", "B1", 417, issued=today - 3 * years, expires=today + 2 * years)
    authorise("technician", "KNT-145-017", q, [TASK])
    q = licence("inspector", "B1", 102, issued=today - 8 * years, expires=today + 3 * years)
    authorise("inspector", "KNT-145-004", q, [TASK, INSPECTION, RELEASE])
    q = licence("hub", "C", 12, issued=today - 10 * years, expires=today + 4 * years)
    authorise("hub", "KNT-145-001", q, [TASK, INSPECTION, RELEASE])
    # a licence that lapsed 40 days ago: his authorisation stands, but signs nothing now
    q = licence("askar", "B1", 233, issued=today - 5 * years, expires=today - dt.timedelta(days=40))
    authorise("askar", "KNT-145-023", q, [TASK])
    # an inspector whose authorisation is withdrawn at the end of the load (after the work
    # he signed in the past, which stays signed)
    q = licence("yerlan", "B1", 156, issued=today - 6 * years, expires=today + years)
    authorise("yerlan", "KNT-145-009", q, [TASK, INSPECTION])
    # a B2 avionics licence: signs avionics chapters only
    q = licence(
        "aliya", "B2", 389, issued=today - 2 * years, expires=today + 3 * years, chapters=AVIONICS
    )
    authorise("aliya", "KNT-145-031", q, [TASK, INSPECTION], chapters=AVIONICS)
    # a newly licensed technician whose authorisation starts next week
    q = licence("timur", "B1", 512, issued=today - dt.timedelta(days=20), expires=today + 5 * years)
    authorise("timur", "KNT-145-040", q, [TASK], valid_from=now + dt.timedelta(days=7))
    log(
        f"people: {len(out.qualifications)} licences (invented numbers), "
        f"{len(out.authorisations)} authorisations"
    )
    return out


def withdraw(demo: DemoPeople) -> None:
    """Withdrawals happen now (the service stamps the time): after the past work is signed."""
    people.withdraw_authorisation(
        actor=demo.users["hub"],
        authorisation=demo.authorisations["yerlan"],
        reason="Suspended pending recurrent human-factors training (invented demo record)",
    )


# --- work packages and defects -----------------------------------------------------------


class Hangar:
    """The demo's maintenance events: times are chosen between the aircraft's sorties, all
    in the past (the services refuse a future instant)."""

    def __init__(self, fleet: DemoFleet, staff: DemoPeople) -> None:
        assert fleet.now is not None
        self.now = fleet.now
        self.u = staff.users
        self.aircraft = {
            a.serial: a
            for a in Aircraft.objects.filter(pk__in=[a.pk for a in fleet.aircraft]).select_related(
                "variant__aircraft_type", "operator"
            )
        }
        self.tasks = {t.code: t for t in Task.objects.all()}
        self.packages: dict[str, WorkPackage] = {}
        self.defects: dict[str, Defect] = {}

    def ground_time(self, serial: str, days_ago: float, hours: float = 6) -> dt.datetime:
        """The start of ``hours`` on the ground ending ``days_ago`` days ago or earlier:
        no sortie of the aircraft within them, nor in the hour before."""
        span = dt.timedelta(hours=hours)
        at = self.now - dt.timedelta(days=days_ago) - span
        aircraft = self.aircraft[serial]
        while True:
            takeoff = (
                Flight.objects.filter(
                    aircraft=aircraft,
                    landing__gt=at - dt.timedelta(hours=1),
                    takeoff__lt=at + span,
                )
                .order_by("takeoff")
                .values_list("takeoff", flat=True)
                .first()
            )
            if takeoff is None:
                return at.replace(minute=0, second=0, microsecond=0)
            at = takeoff - span - dt.timedelta(hours=1)

    def fitted(self, serial: str, position: str) -> Part:
        return (
            Installation.objects.select_related("part__part_number")
            .get(aircraft=self.aircraft[serial], position__code=position, removed_at__isnull=True)
            .part
        )

    def refs(self, serial: str, *codes: str) -> list[work.DueRef]:
        """Due items by task code; a part's task as CODE@POSITION."""
        out = []
        for code in codes:
            task, _, position = code.partition("@")
            part = self.fitted(serial, position) if position else None
            out.append(work.DueRef(self.tasks[task], part))
        return out

    def package(
        self,
        key: str,
        serial: str,
        title: str,
        at: dt.datetime,
        items: tuple[str, ...] = (),
        defects: tuple[str, ...] = (),
        *,
        opened: bool = True,
        planned_days: int = 1,
    ) -> WorkPackage:
        package = work.create_package(
            actor=self.u["planner"],
            aircraft=self.aircraft[serial],
            title=title,
            items=self.refs(serial, *items),
            defects=[self.defects[d] for d in defects],
            planned_start=at.date(),
            planned_end=at.date() + dt.timedelta(days=planned_days),
            at=at - dt.timedelta(days=2),
        )
        if opened:
            work.open_package(actor=self.u["planner"], package=package, at=at)
        self.packages[key] = package
        return package

    def card(self, package: WorkPackage, seq: int) -> TaskCard:
        return TaskCard.objects.select_related("package").get(package=package, seq=seq)

    def sign_steps(
        self,
        card: TaskCard,
        who: str,
        at: dt.datetime,
        values: dict[int, float] | None = None,
        *,
        only: int | None = None,
        part: Part | None = None,
    ) -> dt.datetime:
        """Sign the card's steps (the first ``only`` of them), 20 minutes apart; a measuring
        step records ``values[seq]``. Returns the instant after the last."""
        values = values or {}
        for step in list(card.steps.order_by("seq"))[:only]:
            kw: dict[str, Any] = {}
            if step.kind == StepKind.MEASURE:
                kw["value"] = values[step.seq]
            elif step.kind == StepKind.REMOVE:
                kw["removal_reason"] = "scheduled"
            elif step.kind == StepKind.INSTALL:
                kw["part"] = part
            work.sign_step(actor=self.u[who], step=step, at=at, **kw)
            at += dt.timedelta(minutes=20)
        return at

    def do_card(
        self,
        package: WorkPackage,
        seq: int,
        who: str,
        at: dt.datetime,
        values: dict[int, float] | None = None,
        *,
        inspector: str = "inspector",
    ) -> dt.datetime:
        """Every step signed, the card signed, and inspected by another person when
        critical."""
        card = self.card(package, seq)
        at = self.sign_steps(card, who, at, values)
        work.sign_card(actor=self.u[who], card=card, at=at)
        at += dt.timedelta(minutes=10)
        if card.critical:
            work.inspect_card(actor=self.u[inspector], card=card, at=at)
            at += dt.timedelta(minutes=20)
        return at

    def defect(
        self,
        key: str,
        serial: str,
        ata: str,
        description: str,
        found_at: dt.datetime,
        *,
        source: str = DefectSource.CREW,
        by: str = "technician",
    ) -> Defect:
        d = work.raise_defect(
            actor=self.u[by],
            aircraft=self.aircraft[serial],
            ata=ata,
            description=description,
            source=source,
            found_at=found_at,
            source_ref="crew report after the sortie" if source == DefectSource.CREW else "",
        )
        self.defects[key] = d
        return d

    def defer(
        self,
        key: str,
        category: str,
        mel_item: str,
        reason: str,
        at: dt.datetime,
        *,
        deadline: dt.datetime | None = None,
        who: str = "inspector",
    ) -> None:
        work.defer_defect(
            actor=self.u[who],
            defect=self.defects[key],
            category=category,
            mel_item=mel_item,
            reason=reason,
            deadline=deadline,
            at=at,
        )


def load_work(fleet: DemoFleet, staff: DemoPeople, *, log: Any) -> None:
    """Packages in every state on aircraft of the three operators, and defects open, deferred
    (B, C, D, A, one expired) and closed by rectification cards."""
    h = Hangar(fleet, staff)
    u = h.u
    hours = dt.timedelta(hours=1)

    # --- released, in the past (their compliance records move those items on) ----------
    # PC-001: landing gear and propeller, signed by askar (his licence then in force) and
    # independently inspected by yerlan (before his authorisation was withdrawn)
    at = h.ground_time("PC-001", 70)
    p = h.package(
        "pc001",
        "PC-001",
        "Landing gear detailed inspection and propeller track",
        at,
        ("32-10-01", "61-10-02@PROP"),
    )
    t = h.do_card(p, 1, "askar", at, {2: 89.5})
    t = h.do_card(p, 2, "askar", t, {3: 1.1, 4: 20.0}, inspector="yerlan")
    work.release_package(actor=u["hub"], package=p, at=t + hours)

    # KZ-002: a crew-reported de-icing fault rectified with the 200 FH check
    found = h.ground_time("KZ-002", 46, hours=10)
    h.defect(
        "kz002-deice",
        "KZ-002",
        "30",
        "De-icing controller reports a heater zone 3 fault after landing (crew report)",
        found,
        by="operator-kz",
    )
    at = found + 2 * hours
    p = h.package(
        "kz002",
        "KZ-002",
        "200 FH check, de-icing test and propeller track",
        at,
        ("05-20-01", "30-10-01", "61-10-02@PROP"),
        ("kz002-deice",),
    )
    t = h.do_card(p, 1, "technician", at)
    t = h.do_card(p, 2, "technician", t)
    t = h.do_card(p, 3, "technician", t, {3: 0.8, 4: 19.5})
    t = h.do_card(p, 4, "technician", t)  # the rectification: closes the defect
    work.release_package(actor=u["inspector"], package=p, at=t + hours)

    # KZ-011 (Wing Loong): the EO/IR turret fault is rectified by the avionics technician
    # (her authorisation covers chapter 46), the visual inspection by the technician
    found = h.ground_time("KZ-011", 31, hours=8)
    h.defect(
        "kz011-eoir",
        "KZ-011",
        "46",
        "EO/IR turret video drops out for a few seconds in the IR channel (crew report)",
        found,
        by="operator-kz",
    )
    at = found + 3 * hours
    p = h.package(
        "kz011",
        "KZ-011",
        "Visual inspection; EO/IR turret fault",
        at,
        ("05-20-01",),
        ("kz011-eoir",),
    )
    t = h.do_card(p, 1, "technician", at)
    t = h.do_card(p, 2, "aliya", t)
    work.release_package(actor=u["inspector"], package=p, at=t + hours)

    # PB-001: engine borescope and oil change, within limits
    at = h.ground_time("PB-001", 19)
    p = h.package(
        "pb001", "PB-001", "Engine borescope and oil change", at, ("72-10-02@ENG", "79-10-01@ENG")
    )
    t = h.do_card(p, 1, "technician", at, {3: 0.02})
    t = h.do_card(p, 2, "technician", t, {2: 0.0})
    work.release_package(actor=u["inspector"], package=p, at=t + hours)

    # PB-006: a defect deferred under C, then rectified within its deadline
    found = h.ground_time("PB-006", 15)
    h.defect(
        "pb006-light",
        "PB-006",
        "33",
        "Anti-collision light inoperative (found on the walk-round)",
        found,
        source=DefectSource.INSPECTION,
    )
    h.defer(
        "pb006-light", "C", "33-40-01", "MEL: may be inoperative for day flights", found + hours
    )
    at = h.ground_time("PB-006", 8)
    p = h.package("pb006", "PB-006", "Anti-collision light replacement", at, (), ("pb006-light",))
    t = h.do_card(p, 1, "technician", at)
    work.release_package(actor=u["hub"], package=p, at=t + hours)

    # --- deferred defects with clocks running, and one expired -----------------------
    found = h.ground_time("KZ-007", 1)
    h.defect(
        "kz007-satcom",
        "KZ-007",
        "23",
        "SATCOM link lost twice for under a minute in cruise (crew report)",
        found,
        by="operator-kz",
    )
    h.defer(
        "kz007-satcom", "B", "23-20-01", "MEL: LOS datalink alone for local sorties", found + hours
    )
    found = h.ground_time("PB-002", 4)
    h.defect(
        "pb002-oat",
        "PB-002",
        "34",
        "Outside air temperature probe reads 4 degC above the reference on the ground",
        found,
        source=DefectSource.INSPECTION,
    )
    h.defer("pb002-oat", "C", "34-11-02", "MEL: OAT from the ground station", found + hours)
    found = h.ground_time("PC-004", 30)
    h.defect(
        "pc004-seal",
        "PC-004",
        "52",
        "Payload bay door seal worn along the aft edge; no loss of function",
        found,
        source=DefectSource.INSPECTION,
    )
    h.defer("pc004-seal", "D", "52-00-01", "MEL: cosmetic, seal intact", found + hours, who="hub")
    found = h.ground_time("KZ-005", 2)
    h.defect(
        "kz005-gps",
        "KZ-005",
        "34",
        "GNSS receiver 2 fails its power-on self-test",
        found,
        source=DefectSource.INSPECTION,
    )
    days = (h.now - found).days + 3  # the MEL item's own limit: a few days from now
    h.defer(
        "kz005-gps",
        "A",
        "34-50-02",
        f"MEL A: receiver 1 serviceable; repair within {days} calendar days (MEL remark)",
        found + hours,
        deadline=found + dt.timedelta(days=days),
    )
    # KZ-003: deferred under C sixteen days ago and not rectified: grounded since it ran out
    found = h.ground_time("KZ-003", 16)
    h.defect(
        "kz003-pitot",
        "KZ-003",
        "30",
        "Pitot heater current low on the preflight test",
        found,
        source=DefectSource.INSPECTION,
    )
    h.defer("kz003-pitot", "C", "30-31-01", "MEL: no flight into icing", found + hours)

    # --- completed, awaiting release (KZ-006) -----------------------------------------
    at = h.ground_time("KZ-006", 0)
    p = h.package(
        "kz006",
        "KZ-006",
        "Visual inspection, engine borescope and propeller track",
        at,
        ("05-20-01", "72-10-02@ENG", "61-10-02@PROP"),
    )
    t = h.do_card(p, 1, "technician", at)
    t = h.do_card(p, 2, "technician", t, {3: 0.03})
    h.do_card(p, 3, "technician", t, {3: 1.4, 4: 21.0}, inspector="hub")

    # --- in work (PC-003, grounded by its overdue oil change): the oil change is done; the
    # borescope found scoring beyond the limit, which raised an open defect -----------------
    at = h.ground_time("PC-003", 0)
    p = h.package(
        "pc003",
        "PC-003",
        "Overdue oil change and engine borescope",
        at,
        ("79-10-01@ENG", "72-10-02@ENG"),
    )
    t = h.do_card(p, 1, "technician", at, {2: 0.0})
    h.sign_steps(h.card(p, 2), "technician", t, {3: 0.08}, only=3)

    # --- open (PB-005, past its engine's hard time): the engine change is issued; the
    # serviceable engine waits in RP-B's stores --------------------------------------------
    at = h.ground_time("PB-005", 0)
    h.package("pb005", "PB-005", "Engine change: hard-time limit", at, ("72-00-01@ENG",))

    # --- draft: next week's landing gear inspection and oil change on KZ-010 --------------
    start = h.now.date() + dt.timedelta(days=6)
    work.create_package(
        actor=u["planner"],
        aircraft=h.aircraft["KZ-010"],
        title="Landing gear inspection and oil change (next week)",
        items=h.refs("KZ-010", "32-10-01", "79-10-01@ENG"),
        planned_start=start,
        planned_end=start + dt.timedelta(days=1),
        at=h.now - dt.timedelta(hours=2),
    )
    counts = {
        s: n
        for s, n in WorkPackage.objects.values_list("status").annotate(n=Count("id")).order_by()
    }
    log(
        f"work: {WorkPackage.objects.count()} packages ({counts}), {Defect.objects.count()} defects"
    )
