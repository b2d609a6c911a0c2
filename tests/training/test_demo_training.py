"""The demo's year of training history (issue 7): monthly steps with supervised ones, the
share of locally trained work and of the local school's hours rising, proposals waiting, a
lapsed stage refusing a sign-off with its reason, a reminder, stage grants in the hub chain;
and the demo still loads once only.

The demo is loaded once for the module (it takes seconds); each test runs in a savepoint of
the module's transaction, which is rolled back at the end."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db.models import Sum
from django.utils import timezone

from kanat.core.errors import NoAuthority
from kanat.core.models import AuditEvent, User
from kanat.records import chain
from kanat.records.models import ChainLink
from kanat.training import dashboard, matrix, reminders, selectors, trend
from kanat.training.models import (
    Attendance,
    Enrolment,
    Origin,
    Stage,
    StageGrant,
    Trainee,
)
from kanat.work import services as work
from kanat.work.models import PackageStatus, Release, SignOff, SignOffKind, StepKind, TaskStep

pytestmark = pytest.mark.django_db
DAY = dt.timedelta(days=1)


def _user(name: str) -> User:
    return User.objects.get(username=name)


def _steps(since: dt.datetime, until: dt.datetime):
    return SignOff.objects.filter(
        kind=SignOffKind.STEP,
        corrected_by__isnull=True,
        signed_at__gte=since,
        signed_at__lt=until,
    )


def _share(rows: list[int | None], local: set[int]) -> float:
    assert rows, "no signatures in the window"
    return sum(1 for r in rows if r in local) / len(rows)


def test_the_transfer_books_and_the_demo_users(demo_log, settings):
    origins = dict(Trainee.objects.values_list("person__username", "origin"))
    assert origins["hub"] == origins["yerlan"] == Origin.LICENSOR
    assert {"inspector", "technician", "askar", "aliya", "timur"} <= {
        name for name, o in origins.items() if o == Origin.LOCAL
    }
    local = [n for n, o in origins.items() if o == Origin.LOCAL]
    assert len(local) >= 13  # the five local staff and eight or more new trainees
    # the demo was loaded before the tests' fast hasher was set: Django's own checks it
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    dana = _user("dana")
    assert dana.role == "training_manager" and dana.check_password("demo")
    assert _user("erzhan").password == dana.password
    # every stage grant went through the service: one audit event each, by the manager
    grants = StageGrant.objects.all()
    assert grants.count() >= 10
    assert set(grants.values_list("granted_by__username", flat=True)) == {"dana"}
    assert AuditEvent.objects.filter(action="training.grant_stage").count() == grants.count()
    # the demo's log says what it loaded, and shows the refused sign-off with its reason
    assert "training:" in demo_log and "proposed: erzhan for Independent" in demo_log
    assert "bolat" in demo_log and "HF-1 expired on" in demo_log


def test_a_year_of_monthly_steps_with_supervised_ones(demo_log):
    now = timezone.now()
    for month in range(12):
        until = now - 30 * month * DAY
        steps = _steps(until - 30 * DAY, until)
        assert steps.exists(), f"no step signed {month + 1} months ago"
        assert steps.filter(supervised__isnull=False, performed_by__isnull=False).exists(), (
            f"no supervised step {month + 1} months ago"
        )
    # a supervised step: the trainee performed it, a qualified supervisor countersigned it
    for s in SignOff.objects.filter(supervised__isnull=False).select_related("supervised")[:20]:
        assert s.performed_by_id == s.supervised.trainee_id != s.signer_id
        assert s.supervised.supervisor_id == s.signer_id and s.authorisation_id is not None
    # the history shows the courses' life: a failure re-sat, a corrected result
    assert Enrolment.objects.filter(assessments__passed=False).exists()
    assert Enrolment.objects.filter(assessments__corrects__isnull=False).exists()


def test_share_of_locally_trained_work_rises(demo_log):
    now = timezone.now()
    local = set(Trainee.objects.filter(origin=Origin.LOCAL).values_list("person_id", flat=True))
    first = (now - 365 * DAY, now - 274 * DAY)
    last = (now - 91 * DAY, now + DAY)

    def shares(window):
        rows = list(_steps(*window).values_list("performed_by_id", "signer_id"))
        worker = _share([p or s for p, s in rows], local)
        signer = _share([s for _, s in rows], local)
        return worker, signer

    (worker_1, signer_1), (worker_4, signer_4) = shares(first), shares(last)
    assert worker_4 >= worker_1 + 0.25, (worker_1, worker_4)
    assert signer_4 >= signer_1 + 0.5, (signer_1, signer_4)
    releases = {
        w: _share(
            list(
                Release.objects.filter(signed_at__gte=w[0], signed_at__lt=w[1]).values_list(
                    "signer_id", flat=True
                )
            ),
            local,
        )
        for w in (first, last)
    }
    assert releases[last] > releases[first]

    # the dashboard reads the same trend: the worker is the trainee who performed the step,
    # else the signer
    d = dashboard.build(_user("hub"), *trend.last_months(now.date(), 12), now=now)
    points = [s for _, s in d.steps[trend.HUB].points if s.denominator]
    assert len(points) >= 11

    def pooled(shares):
        return sum(s.numerator for s in shares) / sum(s.denominator for s in shares)

    assert pooled(points[-3:]) >= pooled(points[:3]) + 0.25
    months = [m for m, _ in d.steps[trend.HUB].points]
    assert months[-1] == trend.Month.of(now.date())


def test_hours_move_from_the_licensor_to_the_local_school(demo_log):
    now = timezone.now()
    today = now.date()

    def local_share(since: dt.date, until: dt.date) -> float:
        rows = dict(
            Attendance.objects.filter(day__gte=since, day__lte=until)
            .values_list("enrolment__session__course__provider")
            .annotate(h=Sum("hours"))
            .order_by()
        )
        total = sum(rows.values(), Decimal(0))
        assert total > 0
        return float(rows.get("local_school", Decimal(0)) / total)

    first = local_share(today - 365 * DAY, today - 274 * DAY)
    last = local_share(today - 91 * DAY, today)
    assert last >= first + 0.2, (first, last)
    # a course the licensor taught early in the year is taught by the local school later
    moved = {
        (code[:-2] if code.endswith("-L") else code)
        for code in Attendance.objects.filter(day__lt=today - 180 * DAY)
        .filter(enrolment__session__course__provider="licensor")
        .values_list("enrolment__session__course__code", flat=True)
    } & set(
        Attendance.objects.filter(day__gte=today - 180 * DAY)
        .filter(enrolment__session__course__provider="local_school")
        .values_list("enrolment__session__course__code", flat=True)
    )
    assert moved, "no course moved from the licensor to the local school"
    # the dashboard's hours by provider
    d = dashboard.build(_user("dana"), *trend.last_months(today, 12), now=now)
    hours = [p for p in d.hours if p.total]

    def pooled(points):
        local = sum((p.hours("local_school") for p in points), Decimal(0))
        return local / sum((p.total for p in points), Decimal(0))

    assert pooled(hours[-3:]) > pooled(hours[:3])


def test_proposals_queue_holds_met_evidence_and_one_close_to_it(demo_log):
    now = timezone.now()
    dana = _user("dana")
    proposed = {
        (p.evaluation.person.username, p.evaluation.stage.code) for p in matrix.proposals(dana, now)
    }
    assert ("erzhan", "ANKA-IND") in proposed
    assert proposed  # the queue is not empty
    kamila = selectors.evaluate(_user("kamila"), Stage.objects.get(code="ANKA-IND"), now)
    assert not kamila.met and len(kamila.missing) == 1
    assert kamila.missing[0].kind == "experience"
    # arman climbed the whole ladder; certifying staff grants carry their authorisation
    arman = {
        g.stage.code
        for g, state, _ in selectors.standing_grants(_user("arman"), now)
        if state == selectors.IN_FORCE_STAGE
    }
    assert arman == {"ANKA-SUP", "ANKA-IND", "ANKA-CRS"}


def test_lapsed_recurrent_training_refuses_a_signoff_and_a_certificate_is_due(demo_log):
    now = timezone.now()
    bolat = _user("bolat")
    grant = StageGrant.objects.get(person=bolat, stage__code="ANKA-IND")
    state, why = selectors.grant_standing(grant, now)
    assert state == selectors.LAPSED and "HF-1 expired on" in why
    # he signed alone while his human factors was current
    assert SignOff.objects.filter(signer=bolat, performed_by__isnull=True).exists()
    step = (
        TaskStep.objects.filter(
            card__package__status=PackageStatus.IN_WORK,
            card__package__aircraft__variant__aircraft_type__code="ANKA",
            signoffs__isnull=True,
            supervised__isnull=True,
        )
        .order_by("card__seq", "seq")
        .first()
    )
    assert step is not None
    value = 0.05 if step.kind == StepKind.MEASURE else None
    with pytest.raises(NoAuthority, match=r"lapsed: HF-1 expired on .*recurrent training"):
        work.sign_step(actor=bolat, step=step, value=value)
    assert not SignOff.objects.filter(step=step).exists()
    # the reminders: saule's human factors runs out within 60 days, bolat's ran out
    due = {
        (p.person.username, r.course.code): r
        for p in reminders.due(_user("dana"), now.date(), within_days=60)
        for r in p.rows
    }
    saule = due[("saule", "HF-1")]
    assert not saule.expired and 0 < saule.days_left <= 60 and saule.grants
    assert due[("bolat", "HF-1")].expired


def test_stage_grants_are_signed_into_the_hub_chain(demo_log):
    grants = set(StageGrant.objects.values_list("pk", flat=True))
    linked = set(
        ChainLink.objects.filter(chain="hub", subject_model="training.stagegrant").values_list(
            "subject_id", flat=True
        )
    )
    assert grants and grants == linked
    assert chain.verify() == []


def test_a_second_load_changes_nothing(demo_log):
    counts = (
        StageGrant.objects.count(),
        SignOff.objects.count(),
        Attendance.objects.count(),
        AuditEvent.objects.count(),
    )
    out = io.StringIO()
    call_command("demo", stdout=out)
    assert "already loaded" in out.getvalue()
    call_command("demo", "--if-empty", stdout=out)
    assert (
        StageGrant.objects.count(),
        SignOff.objects.count(),
        Attendance.objects.count(),
        AuditEvent.objects.count(),
    ) == counts


def test_a_demo_trainee_earns_independent_signing_through_supervised_steps(demo_log):
    """Issue 7's done-when on the demo: kamila (enrolled, supervised stage, one requirement
    short) performs steps under supervision, is proposed, granted by dana, and signs alone."""
    from kanat.fleet.models import Aircraft
    from kanat.training import services as training
    from kanat.work.models import TaskCard

    now = timezone.now()
    kamila, dana, planner = _user("kamila"), _user("dana"), _user("planner")
    independent = Stage.objects.get(code="ANKA-IND")
    assert Enrolment.objects.filter(person=kamila).exists()
    before = selectors.evaluate(kamila, independent, now)
    assert [c.kind for c in before.missing] == ["experience"]
    with pytest.raises(NoAuthority):
        selectors.supervised_work_grant(kamila, independent.aircraft_type, now - 400 * DAY)
    chapter = next(
        r.ata_chapter
        for r in independent.requirements.filter(kind="experience")
        if not selectors.requirement_check(
            r,
            kamila,
            independent.aircraft_type_id,
            now,
            {},
            selectors.experience(kamila, independent.aircraft_type, now),
        ).met
    )
    aircraft = (
        Aircraft.objects.filter(
            variant__aircraft_type=independent.aircraft_type, status="active"
        ).first()
        or Aircraft.objects.filter(variant__aircraft_type=independent.aircraft_type).first()
    )
    supervisor = _user("inspector")

    def package(title: str) -> TaskCard:
        defect = work.raise_defect(
            actor=planner,
            aircraft=aircraft,
            ata=f"{chapter}-00",
            description=f"{title} (invented for the test)",
            source="inspection",
        )
        pkg = work.create_package(actor=planner, aircraft=aircraft, title=title, defects=[defect])
        work.open_package(actor=planner, package=pkg)
        return pkg.cards.get()

    for n in range(3):
        for step in package(f"Supervised rectification {n}").steps.order_by("seq"):
            entry = work.sign_step_supervised(actor=kamila, step=step, supervisor=supervisor)
            work.countersign_step(actor=supervisor, entry=entry)
        if selectors.evaluate(kamila, independent, timezone.now()).met:
            break
    proposed = {
        (p.evaluation.person.username, p.evaluation.stage.code)
        for p in matrix.proposals(dana, timezone.now())
    }
    assert ("kamila", "ANKA-IND") in proposed
    grant = training.grant_stage(actor=dana, person=kamila, stage=independent)
    assert grant.authorisation is not None
    card = package("Independent rectification")
    alone = work.sign_step(actor=kamila, step=card.steps.order_by("seq").first())
    assert alone.signer == kamila and alone.performed_by is None
    assert alone.authorisation == grant.authorisation
    assert chain.verify() == []
