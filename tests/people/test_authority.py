"""Who may sign what: qualifications, authorisations and the check a sign-off makes."""

from __future__ import annotations

import datetime as dt

import pytest

from kanat.core.errors import NoAuthority, NotAllowed, RuleViolation
from kanat.core.models import AuditEvent
from kanat.core.roles import Role
from kanat.people import services
from kanat.people.models import Authorisation, Privilege, Qualification
from tests import factories as f
from tests.factories import utc

pytestmark = pytest.mark.django_db

AT = utc(2026, 6, 1, 10)


@pytest.fixture
def anka():
    return f.aircraft_type(code="ANKA", name="ANKA")


@pytest.fixture
def tech():
    return f.user(role=Role.TECHNICIAN, username="aigerim")


def check(tech, anka, privilege=Privilege.TASK, ata="32-11-00", at=AT):
    return services.signing_authority(
        signer=tech, privilege=privilege, aircraft_type=anka, ata=ata, at=at
    )


def test_an_authorisation_in_scope_signs_and_names_its_reference(tech, anka):
    q = f.qualification(tech, [anka], reference="KZ.66.0042", ata_chapters=["32", "71"])
    a = f.authorisation(tech, q, ["task"], number="CA-7", ata_chapters=["32"])
    authority = check(tech, anka)
    assert authority.authorisation == a and authority.qualification == q
    assert authority.reference == "CA-7 / B1 KZ.66.0042 (Civil Aviation Committee)"
    events = AuditEvent.objects.filter(action__startswith="people.").values_list(
        "action", flat=True
    )
    assert sorted(events) == ["people.grant_authorisation", "people.grant_qualification"]


def test_no_authorisation_for_the_privilege_is_refused(tech, anka):
    q = f.qualification(tech, [anka])
    f.authorisation(tech, q, ["task"])
    with pytest.raises(NoAuthority, match="aigerim holds no authorisation to sign: certificate"):
        check(tech, anka, privilege=Privilege.RELEASE)


def test_out_of_scope_type_and_chapter_are_refused_with_the_reason(tech, anka):
    other = f.aircraft_type(code="WL2")
    q = f.qualification(tech, [anka, other])
    f.authorisation(tech, q, ["task"], aircraft_types=[other], number="CA-1")
    with pytest.raises(NoAuthority, match="authorisation CA-1 covers type WL2, not this"):
        check(tech, anka)
    f.authorisation(tech, q, ["task"], aircraft_types=[anka], ata_chapters=["71"], number="CA-2")
    with pytest.raises(NoAuthority, match="authorisation CA-2 covers ATA chapters 71, not 32"):
        check(tech, anka)
    assert check(tech, anka, ata="71-00-00").authorisation.number == "CA-2"


def test_an_expired_qualification_refuses_from_the_day_after_its_expiry(tech, anka):
    q = f.qualification(tech, [anka], expires_on=dt.date(2026, 6, 1))
    f.authorisation(tech, q, ["task"])
    assert check(tech, anka, at=utc(2026, 6, 1, 23, 59)).qualification == q
    with pytest.raises(NoAuthority, match=r"expired: valid through 2026-06-01"):
        check(tech, anka, at=utc(2026, 6, 2, 0, 0))


def test_authorisation_validity_window_and_offset_instants(tech, anka):
    q = f.qualification(tech, [anka])
    f.authorisation(
        tech, q, ["task"], number="CA-3", valid_from=utc(2026, 1, 1), valid_until=utc(2026, 6, 1)
    )
    with pytest.raises(NoAuthority, match="CA-3 is not valid before 2026-01-01 00:00 UTC"):
        check(tech, anka, at=utc(2025, 12, 31, 23))
    # 2026-06-01 02:00 at +05:00 is 2026-05-31 21:00 UTC: still valid
    almaty = dt.timezone(dt.timedelta(hours=5))
    assert check(tech, anka, at=dt.datetime(2026, 6, 1, 2, tzinfo=almaty))
    with pytest.raises(NoAuthority, match="CA-3 expired on 2026-06-01 00:00 UTC"):
        check(tech, anka, at=utc(2026, 6, 1))


def test_withdrawal_stops_signing_from_then_on_only(tech, anka):
    q = f.qualification(tech, [anka])
    a = f.authorisation(tech, q, ["task"], number="CA-4")
    before = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    services.withdraw_authorisation(actor=None, authorisation=a, reason="left the hub")
    assert check(tech, anka, at=before)  # what was signed before stays signed
    with pytest.raises(NoAuthority, match=r"CA-4 was withdrawn on .* \(left the hub\)"):
        check(tech, anka, at=dt.datetime.now(dt.UTC))
    with pytest.raises(RuleViolation, match="already withdrawn"):
        services.withdraw_authorisation(actor=None, authorisation=a, reason="again")
    with pytest.raises(RuleViolation, match="say why"):
        services.withdraw_qualification(actor=None, qualification=q, reason=" ")


def test_a_withdrawn_qualification_takes_its_authorisations_with_it(tech, anka):
    q = f.qualification(tech, [anka], reference="KZ.66.9")
    f.authorisation(tech, q, ["task"])
    services.withdraw_qualification(actor=None, qualification=q, reason="licence suspended")
    with pytest.raises(NoAuthority, match=r"KZ.66.9 .* was withdrawn .*licence suspended"):
        check(tech, anka, at=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1))


def test_any_authorisation_in_force_wins_and_all_reasons_are_given(tech, anka):
    old = f.qualification(tech, [anka], expires_on=dt.date(2025, 1, 1), reference="OLD")
    f.authorisation(tech, old, ["task"], number="CA-OLD")
    with pytest.raises(NoAuthority) as refused:
        check(tech, anka)
    assert "OLD" in str(refused.value)
    new = f.qualification(tech, [anka], reference="NEW", issued_on=dt.date(2025, 1, 1))
    f.authorisation(tech, new, ["task", "inspection"], number="CA-NEW")
    assert check(tech, anka).authorisation.number == "CA-NEW"
    assert check(tech, anka, privilege=Privilege.INSPECTION).qualification == new


def test_authorisation_scope_must_lie_within_the_qualification(tech, anka):
    other = f.aircraft_type(code="WL2")
    q = f.qualification(tech, [anka], ata_chapters=["32"])
    with pytest.raises(RuleViolation, match="does not cover type WL2") as e:
        f.authorisation(tech, q, ["task"], aircraft_types=[other], ata_chapters=["32"])
    assert e.value.field == "aircraft_types"
    with pytest.raises(RuleViolation, match="does not cover chapter 71"):
        f.authorisation(tech, q, ["task"], ata_chapters=["32", "71"])
    with pytest.raises(RuleViolation, match="covers chapters 32 only"):
        f.authorisation(tech, q, ["task"])
    someone = f.user(role=Role.INSPECTOR)
    with pytest.raises(RuleViolation, match="held by someone else"):
        f.authorisation(someone, q, ["task"], ata_chapters=["32"])
    with pytest.raises(RuleViolation, match="unknown privilege 'sign'"):
        f.authorisation(tech, q, ["sign"], ata_chapters=["32"])
    assert not Authorisation.objects.exists()


def test_bad_qualifications_are_refused_and_change_nothing(tech, anka):
    with pytest.raises(RuleViolation, match="ATA chapter '3' is not two digits"):
        f.qualification(tech, [anka], ata_chapters=["3"])
    with pytest.raises(RuleViolation, match="name at least one aircraft type"):
        f.qualification(tech, [])
    with pytest.raises(RuleViolation, match="before it was issued"):
        f.qualification(tech, [anka], expires_on=dt.date(2023, 1, 1))
    f.qualification(tech, [anka], reference="KZ-1")
    with pytest.raises(RuleViolation, match="already recorded"):
        f.qualification(tech, [anka], reference="KZ-1")
    assert Qualification.objects.count() == 1


def test_only_the_hub_admin_and_quality_grant(tech, anka):
    planner = f.user(role=Role.PLANNER)
    with pytest.raises(NotAllowed, match="may not: Record qualifications"):
        services.grant_qualification(
            actor=planner,
            holder=tech,
            category="B1",
            reference="X",
            issuing_authority="CAC",
            aircraft_types=[anka],
            issued_on=dt.date(2024, 1, 1),
        )
    quality = f.user(role=Role.QUALITY)
    q = services.grant_qualification(
        actor=quality,
        holder=tech,
        category="B1",
        reference="X",
        issuing_authority="CAC",
        aircraft_types=[anka],
        issued_on=dt.date(2024, 1, 1),
    )
    a = f.authorisation(tech, q, ["task"])
    assert a.issued_by is None  # granted by the system in this factory


def test_operators_see_only_their_own_people(anka):
    op1, op2 = f.operator(), f.operator()
    mine = f.user(operator=op1)
    theirs = f.user(operator=op2)
    hub_tech = f.user(role=Role.TECHNICIAN)
    for holder in (mine, theirs, hub_tech):
        f.qualification(holder, [anka])
    viewer = f.user(operator=op1, role=Role.OPERATOR_VIEWER)
    assert [q.holder for q in Qualification.objects.restrict(viewer)] == [mine]
    assert Qualification.objects.restrict(hub_tech).count() == 3


def test_the_people_page_shows_states_in_a_fixed_number_of_queries(client, anka):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    hub = f.user(role=Role.QUALITY, username="quality")
    for n in range(3):
        tech = f.user(role=Role.TECHNICIAN, username=f"tech{n}")
        q = f.qualification(tech, [anka], reference=f"LIC-{n}", expires_on=dt.date(2025, 1, n + 1))
        f.authorisation(tech, q, ["task"], number=f"CA-{n}")
    services.withdraw_authorisation(
        actor=None, authorisation=Authorisation.objects.get(number="CA-0"), reason="moved on"
    )
    current = f.user(role=Role.TECHNICIAN, username="tech8")  # one in force: its stage is read
    f.authorisation(current, f.qualification(current, [anka], reference="LIC-8"), ["task"])
    client.force_login(hub)
    with CaptureQueriesContext(connection) as queries:
        page = client.get("/people/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "LIC-2" in text and "expired" in text and "withdrawn: moved on" in text
    few = len(queries)
    tech = f.user(role=Role.TECHNICIAN, username="tech9")
    f.authorisation(tech, f.qualification(tech, [anka], reference="LIC-9"), ["release"])
    with CaptureQueriesContext(connection) as queries:
        assert "LIC-9" in client.get("/people/").content.decode()
    assert len(queries) == few


def test_an_authorisation_resting_on_an_expired_qualification_is_not_shown_in_force(anka):
    from django.utils import timezone

    from kanat.people.selectors import holders

    tech = f.user(role=Role.TECHNICIAN, username="askar")
    q = f.qualification(tech, [anka], expires_on=dt.date(2025, 1, 1))
    f.authorisation(tech, q, ["task"], number="CA-LAPSED")
    viewer = f.user(role=Role.QUALITY)
    (holder,) = [h for h in holders(viewer, timezone.now()) if h.person == tech]
    assert [state for _, state in holder.authorisations] == ["qualification expired"]
