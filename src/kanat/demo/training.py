"""Demo technology transfer (all invented): the training catalogue, the hub's staff and nine
new local trainees on the transfer's books, and a year of training history. Sessions with
attendance, assessments (failures, a re-sit, a corrected result) and certificates (the
licensor staff's recorded from paper); the ANKA authorisation ladder (supervised, independent,
certifying) granted at past instants as the evidence accrues; and monthly rectification work
in which the trainees perform steps under supervision, then sign alone.

The trend it shows: the share of steps signed by locally trained staff, and of the training
hours delivered by the local school, grows month by month (two practical courses move from
the licensor to the local school during the year). One trainee's recurrent human factors has
lapsed (his independent stage with it), one certificate expires within 60 days, one trainee
meets the independent stage's evidence and waits for the grant, another nearly does.

Everything goes through the services at past instants: the checks run as they would have."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Sum

from kanat.core import services as core_services
from kanat.core.errors import NoAuthority
from kanat.core.models import User
from kanat.core.roles import Role
from kanat.demo.fleet import DemoFleet
from kanat.demo.work import AUTHORITY, INVENTED, DemoPeople, Hangar
from kanat.fleet.models import AircraftType
from kanat.people import services as people
from kanat.training import matrix
from kanat.training import services as training
from kanat.training.models import Attendance, Course, Enrolment, Stage, StageGrant
from kanat.work import services as work
from kanat.work.models import DefectSource, PackageStatus, SignOff, StepKind, TaskCard, TaskStep

#: the school's classrooms and instructors (invented)
LICENSOR_SITE = "Kanat hub, licensor training room"
SCHOOL_SITE = "Kanat hub, local school classroom 2"
LICENSOR_INSTRUCTOR = "Licensor instructor team (invented)"
SCHOOL_INSTRUCTOR = "Local school instructors (invented)"

#: licensor staff among the existing demo people (seconded certifying staff); the others are
#: locally trained
LICENSOR_STAFF = ("hub", "yerlan")
LOCAL_STAFF = ("inspector", "technician", "askar", "aliya", "timur")

#: new local trainees (role technician, password demo): username, first name, last name
TRAINEES = [
    ("arman", "Arman", "Trainee (certifying on ANKA)"),
    ("madina", "Madina", "Trainee (independent)"),
    ("bolat", "Bolat", "Trainee (human factors lapsed)"),
    ("daniyar", "Daniyar", "Trainee (independent)"),
    ("zhanna", "Zhanna", "Trainee (independent)"),
    ("saule", "Saule", "Trainee (human factors expires soon)"),
    ("erzhan", "Erzhan", "Trainee (proposed: independent)"),
    ("kamila", "Kamila", "Trainee (supervised)"),
    ("ruslan", "Ruslan", "Trainee (proposed: supervised)"),
]

#: findings rectified by the monthly packages, by ATA chapter (invented)
FINDINGS = {
    "72": [
        "Engine oil pressure fluctuates at high power on the ground run",
        "Cylinder head temperature 3 reads erratically",
        "Exhaust clamp loose at the turbocharger inlet",
        "Engine mount bolt torque stripe broken (found on the walk-round)",
    ],
    "61": [
        "Propeller blade leading-edge erosion beyond the touch-up limit",
        "Propeller pitch change slow on the ground run",
        "Spinner back-plate fastener missing",
    ],
    "32": [
        "Main gear shock strut extension below the servicing chart",
        "Nose wheel steering shimmy on the taxi",
        "Brake wear indicator at its minimum",
    ],
    "28": ["Fuel quantity indication differs between tanks beyond the tolerance"],
    "24": ["Generator output voltage low on the ground run"],
    "52": ["Avionics bay access panel latch does not engage"],
    "46": ["EO/IR turret elevation drifts after slewing"],
    "23": ["LOS datalink signal strength low on the ground check"],
}
#: the chapters a trainee's cards take in turn (the independent stage needs 72 and 61)
ROUND = ["72", "61", "32", "72", "61", "28", "24", "32", "52"]

#: the months a trainee performs a card under supervision (month 0 is about a year ago,
#: month 11 the last weeks): three cards (six steps, chapters 72, 61, 32) meet the independent
#: stage's experience
SUPERVISED = {
    "arman": range(0, 3),
    "bolat": range(0, 3),
    "madina": range(1, 4),
    "daniyar": range(3, 6),
    "zhanna": range(4, 7),
    "saule": range(6, 9),
    "erzhan": range(9, 12),  # meets the independent stage's evidence in the last month
    "kamila": range(10, 12),  # two of three cards
}
#: the months a trainee signs a card alone, once independent (bolat's human factors lapses
#: after his last)
ALONE = {
    "arman": (4, 8, 11),
    "bolat": (5, 10),
    "madina": (9,),
    "daniyar": (7,),
    "zhanna": (11,),
    "saule": (10,),
}
#: the cards the licensor's staff perform alone: most of the work at first, none at the end
LICENSOR_CARDS = {
    0: ("hub", "yerlan", "hub"),
    1: ("yerlan", "hub", "yerlan"),
    2: ("hub", "yerlan"),
    3: ("yerlan", "hub"),
    4: ("hub", "yerlan"),
    5: ("yerlan",),
    6: ("hub",),
    7: ("yerlan",),
}
LICENSOR_CHAPTERS = ["72", "61", "32", "28", "24", "52"]
#: who supervises in a month: the licensor's staff at first, the local staff later
SUPERVISORS = [
    ("yerlan", "hub"),
    ("hub", "yerlan"),
    ("yerlan", "hub", "technician"),
    ("yerlan", "hub"),
    ("yerlan", "technician"),
    ("technician", "yerlan"),
    ("inspector", "technician"),
    ("inspector", "technician"),
    ("technician", "inspector"),
    ("technician", "inspector"),
    ("inspector", "technician"),
    ("technician", "inspector"),
]
#: stage grants at the end of a month, as the evidence accrues
GRANTS = {
    2: [("arman", "IND"), ("bolat", "IND"), ("daniyar", "SUP")],
    3: [("madina", "IND"), ("zhanna", "SUP")],
    5: [("daniyar", "IND"), ("saule", "SUP")],
    6: [("zhanna", "IND")],
    8: [("saule", "IND"), ("arman", "CRT"), ("erzhan", "SUP")],
    9: [("kamila", "SUP")],
}
#: the aircraft the monthly packages go to (ANKA, all three operators)
ANKA_SERIALS = ["KZ-001", "PB-004", "PC-002", "KZ-004", "PB-002", "KZ-008", "PC-004", "KZ-005"]


def _day(now: dt.datetime, days_ago: float) -> dt.date:
    return (now - dt.timedelta(days=days_ago)).date()


def _at(day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=dt.UTC)


@dataclass
class Academy:
    now: dt.datetime
    manager: User
    users: dict[str, User]
    courses: dict[str, Course] = field(default_factory=dict)
    stages: dict[str, Stage] = field(default_factory=dict)
    sessions: int = 0
    failures: list[str] = field(default_factory=list)

    def middle(self, month: int) -> float:
        """Days ago of a month's middle: month 0 about a year ago, month 11 three weeks ago."""
        return 350 - 30 * month

    def session(
        self,
        code: str,
        days_ago: float,
        names: list[str],
        *,
        scores: dict[str, dict[str, int]] | None = None,
        resit: dict[str, dict[str, int]] | None = None,
        correct: dict[str, tuple[str, int, int, str]] | None = None,
    ) -> None:
        """A session of ``code`` starting ``days_ago``: 8 hours a day for the course's hours,
        everyone attends, theory and practical results at the end (``scores`` override the
        passing default), a re-sit three days later (``resit``), a corrected result
        (``correct``: element, recorded, corrected, reason), and the certificates of those
        who passed."""
        course = self.courses[code]
        days = max(1, int((course.hours / 8).to_integral_value(rounding="ROUND_CEILING")))
        start = _day(self.now, days_ago)
        end = start + dt.timedelta(days=days - 1)
        self.sessions += 1
        session = training.schedule_session(
            actor=self.manager,
            course=course,
            code=f"{code}-{start:%y%m%d}",
            starts_on=start,
            ends_on=end,
            location=LICENSOR_SITE if course.provider == "licensor" else SCHOOL_SITE,
            instructor=LICENSOR_INSTRUCTOR if course.provider == "licensor" else SCHOOL_INSTRUCTOR,
        )
        per_day = min(Decimal(8), course.hours)
        last = course.hours - per_day * (days - 1)
        scores, resit, correct = scores or {}, resit or {}, correct or {}
        for n, name in enumerate(names):
            person = self.users[name]
            enrolment = training.enrol(
                actor=self.manager,
                session=session,
                person=person,
                at=_at(start - dt.timedelta(days=7), 9),
            )
            for d in range(days):
                training.record_attendance(
                    actor=self.manager,
                    enrolment=enrolment,
                    day=start + dt.timedelta(days=d),
                    hours=per_day if d < days - 1 else last,
                )
            passed = True
            for element in course.elements:
                score = scores.get(name, {}).get(element, 78 + (n * 7 + len(name) * 3) % 19)
                wrong = correct.get(name)
                if wrong is not None and wrong[0] == element:
                    # mis-typed, then corrected by a new result naming it
                    _, typed, score, reason = wrong
                    typo = training.record_assessment(
                        actor=self.manager,
                        enrolment=enrolment,
                        element=element,
                        score=typed,
                        at=_at(end, 15),
                    )
                    result = training.record_assessment(
                        actor=self.manager,
                        enrolment=enrolment,
                        element=element,
                        score=score,
                        at=_at(end + dt.timedelta(days=1), 10),
                        corrects=typo,
                        correction_reason=reason,
                    )
                else:
                    result = training.record_assessment(
                        actor=self.manager,
                        enrolment=enrolment,
                        element=element,
                        score=score,
                        at=_at(end, 15),
                    )
                if not result.passed and element in resit.get(name, {}):
                    self.failures.append(f"{name} {course.code} {element} {result.score}%")
                    result = training.record_assessment(
                        actor=self.manager,
                        enrolment=enrolment,
                        element=element,
                        score=resit[name][element],
                        at=_at(end + dt.timedelta(days=3), 10),
                        remark="re-sit",
                    )
                if not result.passed:
                    self.failures.append(f"{name} {course.code} {element} {result.score}%")
                    passed = False
            if passed:
                issued = end + dt.timedelta(days=4 if name in resit else 1)
                training.issue_certificate(
                    actor=self.manager, enrolment=enrolment, at=_at(issued, 12)
                )

    def paper(
        self, name: str, code: str, number: str, issued: dt.date, expires: dt.date | None = None
    ) -> None:
        """A certificate earned before the system, recorded from the paper."""
        training.record_certificate(
            actor=self.manager,
            person=self.users[name],
            course=self.courses[code],
            number=f"{number} {INVENTED}",
            issued_on=issued,
            expires_on=expires,
        )

    def grant(self, name: str, stage: str, days_ago: float) -> StageGrant:
        return training.grant_stage(
            actor=self.manager,
            person=self.users[name],
            stage=self.stages[stage],
            at=_at(_day(self.now, days_ago), 11),
            note="Evidence reviewed with the trainee's supervisor (demo record)",
        )


def _catalogue(a: Academy, types: dict[str, AircraftType]) -> None:
    """The licensor's type courses, the local school's human factors (and its recurrent),
    safety and workshop courses, and two practical courses in both providers' versions: the
    licensor taught them in the first half of the year, the local school since."""
    anka, wl = types["ANKA"], types["WING-LOONG"]
    rows: list[dict[str, Any]] = [
        dict(code="ANKA-TT", title="ANKA type training", kind="type", provider="licensor",
             aircraft_type=anka, theory_hours=32, practical_hours=16),
        dict(code="WL-TT", title="Wing Loong I type training", kind="type", provider="licensor",
             aircraft_type=wl, theory_hours=32, practical_hours=8),
        dict(code="HF-LIC", title="Human factors (the licensor's school)", kind="human_factors",
             provider="licensor", theory_hours=16, validity_months=24),
        dict(code="HF-1", title="Human factors in maintenance", kind="human_factors",
             provider="local_school", theory_hours=16, validity_months=24),
        dict(code="SAF-1", title="Aviation safety and the safety management system",
             kind="safety", provider="local_school", theory_hours=8),
        dict(code="WS-1", title="Basic practical workshop: tools, torque, locking, bonding",
             kind="practical", provider="local_school", practical_hours=24),
        dict(code="ANKA-EP-L", title="ANKA engine and propeller practical (licensor)",
             kind="practical", provider="licensor", aircraft_type=anka, ata_chapters=["61", "72"],
             theory_hours=8, practical_hours=16),
        dict(code="ANKA-EP", title="ANKA engine and propeller practical", kind="practical",
             provider="local_school", aircraft_type=anka, ata_chapters=["61", "72"],
             theory_hours=8, practical_hours=16,
             description="Taken over from the licensor's ANKA-EP-L (same syllabus)."),
        dict(code="ANKA-AV-L", title="ANKA avionics and payload practical (licensor)",
             kind="practical", provider="licensor", aircraft_type=anka,
             ata_chapters=["23", "34", "46"], theory_hours=4, practical_hours=12),
        dict(code="ANKA-AV", title="ANKA avionics and payload practical", kind="practical",
             provider="local_school", aircraft_type=anka, ata_chapters=["23", "34", "46"],
             theory_hours=4, practical_hours=12,
             description="Taken over from the licensor's ANKA-AV-L (same syllabus)."),
    ]  # fmt: skip
    for row in rows:
        row["description"] = (row.get("description", "") + " " + INVENTED).strip()
        a.courses[row["code"]] = training.create_course(actor=a.manager, **row)
    a.courses["HF-R"] = training.create_course(
        actor=a.manager,
        code="HF-R",
        title="Human factors recurrent",
        kind="recurrent",
        provider="local_school",
        theory_hours=6,
        validity_months=24,
        renews=a.courses["HF-1"],
        description=f"Renews HF-1 for 24 months. {INVENTED}",
    )


def _ladder(a: Academy, anka: AircraftType) -> None:
    """The ANKA ladder: supervised, independent (signs tasks alone), certifying (inspects and
    releases); human factors in force at every rung. And what each role must have."""
    m, c = a.manager, a.courses
    sup = training.create_stage(
        actor=m, aircraft_type=anka, rank=1, code="ANKA-SUP", name="Supervised",
        supervised_work=True,
        description="Performs task-card steps under a supervisor's countersignature.",
    )  # fmt: skip
    ind = training.create_stage(
        actor=m, aircraft_type=anka, rank=2, code="ANKA-IND", name="Independent",
        privileges=["task"], description="Signs task-card steps and cards alone.",
    )  # fmt: skip
    crt = training.create_stage(
        actor=m, aircraft_type=anka, rank=3, code="ANKA-CRS", name="Certifying",
        privileges=["task", "inspection", "release"],
        description="Inspects critical work and signs the release to service.",
    )  # fmt: skip
    for stage in (sup, ind, crt):
        training.add_requirement(actor=m, stage=stage, kind="course", course=c["HF-1"])
    training.add_requirement(actor=m, stage=sup, kind="course", course=c["ANKA-TT"])
    training.add_requirement(actor=m, stage=ind, kind="assessment", course=c["ANKA-TT"])
    for chapter in ("72", "61"):
        training.add_requirement(
            actor=m, stage=ind, kind="experience", ata_chapter=chapter, min_steps=2
        )
    training.add_requirement(actor=m, stage=ind, kind="experience", min_steps=6)
    training.add_requirement(actor=m, stage=crt, kind="course", course=c["SAF-1"])
    training.add_requirement(actor=m, stage=crt, kind="qualification", qualification_category="B1")
    training.add_requirement(actor=m, stage=crt, kind="experience", min_steps=10)
    for role, codes in (
        (Role.TECHNICIAN, ("HF-1", "SAF-1", "WS-1")),
        (Role.INSPECTOR, ("HF-1", "SAF-1")),
    ):
        for code in codes:
            training.add_requirement(actor=m, role=role, kind="course", course=c[code])
    a.stages = {"SUP": sup, "IND": ind, "CRT": crt}


class Shop:
    """The month's rectification packages: each finding a defect card of two steps, performed
    by a trainee under supervision or signed alone, released by certifying staff."""

    def __init__(self, hangar: Hangar, users: dict[str, User]) -> None:
        self.h, self.u = hangar, users
        self.found = 0
        self.turn: dict[str, int] = {}
        self.packages = 0

    def chapter(self, name: str) -> str:
        n = self.turn.get(name, 0)
        self.turn[name] = n + 1
        return ROUND[n % len(ROUND)]

    def finding(self, chapter: str) -> str:
        rows = FINDINGS[chapter]
        self.found += 1
        return rows[self.found % len(rows)]

    def package(
        self, serial: str, days_ago: float, cards: list[tuple[str, str, str | None]], releaser: str
    ) -> None:
        """``cards``: (performer, chapter, supervisor or None when signed alone)."""
        h, u = self.h, self.u
        at = h.ground_time(serial, days_ago, hours=12)
        defects = [
            work.raise_defect(
                actor=u["technician"],
                aircraft=h.aircraft[serial],
                ata=chapter,
                description=self.finding(chapter),
                source=DefectSource.INSPECTION,
                found_at=at,
                source_ref="line check",
            )
            for _, chapter, _ in cards
        ]
        package = work.create_package(
            actor=u["planner"],
            aircraft=h.aircraft[serial],
            title="Rectification of line-check findings",
            defects=defects,
            planned_start=at.date(),
            planned_end=at.date(),
            at=at + dt.timedelta(minutes=10),
        )
        work.open_package(actor=u["planner"], package=package, at=at + dt.timedelta(minutes=20))
        self.packages += 1
        t = at + dt.timedelta(minutes=30)
        for seq, (who, _, supervisor) in enumerate(cards, start=1):
            card = TaskCard.objects.select_related("package").get(package=package, seq=seq)
            for step in card.steps.order_by("seq"):
                if supervisor is None:
                    work.sign_step(actor=u[who], step=step, at=t)
                else:
                    entry = work.sign_step_supervised(
                        actor=u[who], step=step, supervisor=u[supervisor], at=t
                    )
                    work.countersign_step(
                        actor=u[supervisor], entry=entry, at=t + dt.timedelta(minutes=5)
                    )
                t += dt.timedelta(minutes=15)
            work.sign_card(actor=u[supervisor or who], card=card, at=t)
            t += dt.timedelta(minutes=5)
        work.release_package(actor=u[releaser], package=package, at=t + dt.timedelta(minutes=30))


def _users(staff: DemoPeople) -> dict[str, User]:
    users = dict(staff.users)
    users["dana"] = core_services.create_user(
        actor=None,
        username="dana",
        password=None,
        role=Role.TRAINING_MANAGER,
        first_name="Dana",
        last_name="Training manager",
    )
    for username, first, last in TRAINEES:
        users[username] = core_services.create_user(
            actor=None,
            username=username,
            password=None,
            role=Role.TECHNICIAN,
            first_name=first,
            last_name=last,
        )
    # password demo, as the other demo users: their hash reused (hashing is slow)
    User.objects.filter(username__in=["dana", *[t[0] for t in TRAINEES]]).update(
        password=users["technician"].password
    )
    return users


def load(fleet: DemoFleet, staff: DemoPeople, *, log: Any) -> None:
    assert fleet.now is not None
    now = fleet.now
    users = _users(staff)
    a = Academy(now=now, manager=users["dana"], users=users)
    types = {t.code: t for t in AircraftType.objects.all()}
    anka = types["ANKA"]
    _catalogue(a, types)
    _ladder(a, anka)
    today = now.date()

    # --- the people on the transfer's books, and what they bring from paper ----------------
    for name in LICENSOR_STAFF:
        training.register_trainee(
            actor=a.manager, person=users[name], origin="licensor", joined_on=_day(now, 420)
        )
    for name in LOCAL_STAFF:
        training.register_trainee(
            actor=a.manager, person=users[name], origin="local", joined_on=_day(now, 420)
        )
    for n, (name, _, _) in enumerate(TRAINEES):
        joined = 410 if n < 5 else {5: 320, 6: 250, 7: 230, 8: 110}[n]
        training.register_trainee(
            actor=a.manager, person=users[name], origin="local", joined_on=_day(now, joined)
        )
    for n, name in enumerate(LICENSOR_STAFF):
        a.paper(name, "ANKA-TT", f"LIC-TT-{1204 + n}", _day(now, 1900 + 200 * n))
        a.paper(name, "WL-TT", f"LIC-WL-{310 + n}", _day(now, 1500 + 90 * n))
    a.paper("hub", "HF-LIC", "LIC-HF-2207", _day(now, 400))
    # yerlan's human factors ran out ten days ago: his authorisation is suspended (work.py)
    a.paper("yerlan", "HF-LIC", "LIC-HF-1981", _day(now, 741), _day(now, 10))
    for n, name in enumerate(("inspector", "technician", "askar", "aliya")):
        a.paper(name, "HF-1", f"KLS-HF-{88 + n}", _day(now, 420 + 40 * n))
    a.paper("inspector", "WL-TT", "LIC-WL-0977", _day(now, 2300))
    a.paper("inspector", "SAF-1", "KLS-SAF-31", _day(now, 900))
    # bolat's human factors from the local school's paper days: lapsed 35 days ago
    expired = _day(now, 35)
    a.paper("bolat", "HF-1", "KLS-HF-57", training.add_months(expired, -24), expired)
    # saule's runs out in 45 days: the reminder
    expires = _day(now, -45)
    a.paper("saule", "HF-1", "KLS-HF-61", training.add_months(expires, -24), expires)
    people.grant_qualification(
        actor=users["hub"],
        holder=users["arman"],
        category="B1",
        reference=f"KZ.66.0588 {INVENTED}",
        issuing_authority=AUTHORITY,
        aircraft_types=[anka],
        issued_on=_day(now, 700),
        expires_on=_day(now, -1100),
    )

    # --- before the year: the first cohort's human factors, type course, first rung ---------
    a.session(
        "HF-1",
        396,
        ["arman", "madina", "daniyar", "zhanna"],
        scores={"daniyar": {"theory": 62}},
        resit={"daniyar": {"theory": 81}},
    )
    a.session(
        "ANKA-TT",
        389,
        ["arman", "madina", "bolat"],
        correct={"madina": ("theory", 58, 85, "transcription error: the marked paper reads 85%")},
    )
    for name in ("arman", "madina", "bolat"):
        a.grant(name, "SUP", 378)

    # --- the year, month by month: courses first, then the work, then the grants -------------
    sessions: dict[int, list[tuple[str, list[str], dict[str, Any]]]] = {
        0: [("WS-1", ["arman", "madina", "bolat"], {})],
        1: [
            ("ANKA-TT", ["daniyar", "zhanna"],
             {"scores": {"zhanna": {"practical": 68}}, "resit": {"zhanna": {"practical": 84}}}),
            ("ANKA-EP-L", ["arman", "bolat"], {}),
        ],
        2: [
            ("ANKA-AV-L", ["aliya", "askar"], {}),
            ("HF-1", ["erzhan"], {}),
            ("SAF-1", ["arman", "madina", "erzhan"], {"scores": {"erzhan": {"theory": 64}}}),
        ],
        3: [("ANKA-TT", ["saule"], {})],
        4: [("ANKA-EP-L", ["daniyar", "zhanna", "saule"], {})],
        5: [("ANKA-AV-L", ["madina"], {})],
        6: [("HF-1", ["kamila"], {}), ("SAF-1", ["erzhan", "kamila"], {})],
        7: [("ANKA-TT", ["erzhan", "kamila"], {}), ("ANKA-EP", ["technician"], {})],
        8: [("ANKA-AV", ["daniyar", "zhanna"], {})],
        9: [("HF-1", ["ruslan", "timur"], {}), ("WS-1", ["erzhan", "kamila", "timur"], {})],
        10: [("ANKA-TT", ["ruslan"], {}), ("ANKA-EP", ["erzhan", "kamila", "saule"], {})],
        11: [("ANKA-AV", ["saule", "arman"], {}), ("WS-1", ["ruslan"], {})],
    }  # fmt: skip
    shop = Shop(Hangar(fleet, staff), users)
    for month in range(12):
        mid = a.middle(month)
        for n, (code, names, kw) in enumerate(sessions.get(month, [])):
            a.session(code, mid + 14 - 2 * n, names, **kw)
        supervisors = SUPERVISORS[month]
        cards: list[tuple[str, str, str | None]] = []
        for name, months in SUPERVISED.items():
            if month in months:
                cards.append((name, shop.chapter(name), supervisors[len(cards) % len(supervisors)]))
        for name, alone in ALONE.items():
            if month in alone:
                cards.append((name, shop.chapter(name), None))
        for n, who in enumerate(LICENSOR_CARDS.get(month, ())):
            chapter = LICENSOR_CHAPTERS[(month + n) % len(LICENSOR_CHAPTERS)]
            cards.append((who, chapter, None))
        # releases: the licensor's certifying staff, then the hub's own inspector
        releaser = "hub" if month < 6 or (month < 8 and month % 2) else "inspector"
        shop.package(ANKA_SERIALS[month % len(ANKA_SERIALS)], mid, cards, releaser)
        for name, stage in GRANTS.get(month, []):
            a.grant(name, stage, mid - 8)

    # --- now: human factors recurrent next month, with the two whose currency needs it ------
    start = _day(now, -12)
    recurrent = training.schedule_session(
        actor=a.manager,
        course=a.courses["HF-R"],
        code=f"HF-R-{start:%y%m%d}",
        starts_on=start,
        ends_on=start,
        location=SCHOOL_SITE,
        instructor=SCHOOL_INSTRUCTOR,
    )
    for name in ("bolat", "saule"):
        training.enrol(actor=a.manager, session=recurrent, person=users[name], at=now)

    # bolat's independent stage lapsed with his human factors: a signature is refused
    refused = "bolat signed (unexpected)"
    step = (
        TaskStep.objects.filter(
            card__package__status=PackageStatus.IN_WORK,
            card__package__aircraft__variant__aircraft_type=anka,
            signoffs__isnull=True,
            supervised__isnull=True,
        )
        .select_related("card")
        .order_by("card__package_id", "card__seq", "seq")
        .first()
    )
    if step is not None:
        try:
            value = 0.05 if step.kind == StepKind.MEASURE else None
            work.sign_step(actor=users["bolat"], step=step, at=now, value=value)
        except NoAuthority as exc:
            refused = str(exc)

    proposed = matrix.proposals(a.manager, now)
    hours = dict(
        Attendance.objects.values_list("enrolment__session__course__provider")
        .annotate(h=Sum("hours"))
        .order_by()
    )
    supervised = SignOff.objects.filter(supervised__isnull=False).count()
    log(
        f"training: {len(a.courses)} courses, {a.sessions + 1} sessions, "
        f"{Enrolment.objects.count()} enrolments, {StageGrant.objects.count()} stage grants, "
        f"{supervised} supervised steps in {shop.packages} packages; hours delivered: "
        f"licensor {hours.get('licensor', 0)}, local school {hours.get('local_school', 0)}; "
        f"failed: {', '.join(a.failures)}"
    )
    log(
        "training: proposed: "
        + ", ".join(
            f"{p.evaluation.person.get_username()} for {p.evaluation.stage.name}" for p in proposed
        )
        + f"; saule's HF-1 expires on {expires} ({(expires - today).days} days)"
    )
    log(f"training: a sign-off by bolat now is refused: {refused}")
