"""The work's signed records (sign-offs, inspections, releases, deferrals, defect closures)
are append-only and sit in their operator's hash chain: altering one behind the app's back
is named by `kanat records verify` (both backends); PostgreSQL refuses the change itself."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from kanat.records import chain
from kanat.records.models import ChainLink
from kanat.work import services as work
from kanat.work.models import Defect, DefectClosure, Deferral, Release, SignOff
from tests.records.test_chain import tamper, verify_output
from tests.work.scenario import hangar

pytestmark = pytest.mark.django_db


@pytest.fixture
def released():
    """A released package with a measured step, an inspection, a deferred defect found in
    the work, and a defect closed by its rectification card."""
    h = hangar()
    crew = work.raise_defect(
        actor=h.tech,
        aircraft=h.aircraft,
        ata="33",
        description="Nav light inop",
        source="crew",
        found_at=timezone.now(),
    )
    pkg = work.create_package(
        actor=h.planner,
        aircraft=h.aircraft,
        title="Check",
        items=[work.DueRef(h.tasks["PROP"])],
        defects=[crew],
    )
    work.open_package(actor=h.planner, package=pkg)
    prop, fix = pkg.cards.order_by("seq")
    for step in prop.steps.all():
        work.sign_step(actor=h.tech, step=step, value=2.9 if step.kind == "measure" else None)
    work.sign_card(actor=h.tech, card=prop)
    work.inspect_card(actor=h.inspector, card=prop)
    for step in fix.steps.all():
        work.sign_step(actor=h.tech, step=step)
    work.sign_card(actor=h.tech, card=fix)
    found = Defect.objects.get(step__isnull=False)
    work.defer_defect(actor=h.certifier, defect=found, category="B", mel_item="61-1", reason="ok")
    work.release_package(actor=h.certifier, package=pkg)
    return h, pkg


def test_every_kind_of_work_record_is_signed_and_the_chain_verifies(released):
    h, pkg = released
    kinds = set(ChainLink.objects.filter(chain=h.operator.code).values_list("kind", flat=True))
    assert kinds == {
        "step",
        "card",
        "inspection",
        "deferral",
        "defect closure",
        "release",
        "compliance",
    }
    assert DefectClosure.objects.count() == 1 and Deferral.objects.count() == 1
    link = ChainLink.objects.get(subject_model="work.release")
    assert link.qualification_ref.startswith(Release.objects.get().authorisation.number)
    assert verify_output()[0] == 0
    assert chain.verify() == []


@pytest.mark.parametrize(
    ("table", "column", "value", "problem"),
    [
        ("work_signoff", "value", 1.5, "altered"),
        ("work_signoff", "signed_at", "2020-01-01 00:00:00", "altered"),
        ("work_release", "statement", "nothing", "altered"),
        ("work_deferral", "deadline", "2099-01-01 00:00:00", "altered"),
        ("work_defectclosure", "action", "none", "altered"),
    ],
)
def test_a_work_record_altered_directly_is_named(released, table, column, value, problem):
    row = {
        "work_signoff": SignOff.objects.filter(value__isnull=False),
        "work_release": Release.objects.all(),
        "work_deferral": Deferral.objects.all(),
        "work_defectclosure": DefectClosure.objects.all(),
    }[table].first()
    tamper(f"UPDATE {table} SET {column} = %s WHERE id = %s", (value, row.pk))
    code, text = verify_output()
    assert code == 1
    label = table.replace("_", ".", 1)
    assert f"{label} {row.pk}" in text and problem in text


def test_a_sign_off_deleted_directly_is_named(released):
    row = SignOff.objects.filter(kind="inspection").get()
    tamper("DELETE FROM work_signoff WHERE id = %s", (row.pk,))
    code, text = verify_output()
    assert code == 1 and f"work.signoff {row.pk}" in text and "missing (deleted)" in text


def test_the_app_refuses_to_change_work_records(released):
    for model in (SignOff, Release, Deferral, DefectClosure):
        row = model.objects.first()
        with pytest.raises(PermissionError, match="append-only"):
            row.save()
        with pytest.raises(PermissionError, match="append-only"):
            row.delete()


@pytest.mark.postgres
def test_postgresql_refuses_updates_and_deletes_of_work_records(released):
    tables = ("work_signoff", "work_release", "work_deferral", "work_defectclosure")
    for table in (*tables, "work_release_compliances"):
        column = "id" if table.endswith("compliances") else "signed_at"
        for sql in (f"UPDATE {table} SET {column} = {column}", f"DELETE FROM {table}"):
            with (
                pytest.raises(DatabaseError, match="append-only"),
                transaction.atomic(),
                connection.cursor() as cur,
            ):
                cur.execute(sql)
    assert chain.verify() == []


def test_a_whole_number_measurement_verifies_as_stored():
    h = hangar()
    pkg = work.create_package(
        actor=h.planner, aircraft=h.aircraft, title="Check", items=[work.DueRef(h.tasks["PROP"])]
    )
    work.open_package(actor=h.planner, package=pkg)
    step = pkg.cards.get().steps.get(kind="measure")
    work.sign_step(actor=h.tech, step=step, value=2)
    assert SignOff.objects.get(step=step).value == 2.0
    assert chain.verify() == []


def test_bulk_updates_and_deletes_of_signed_records_are_refused(released):
    for model in (SignOff, Release, Deferral, DefectClosure, ChainLink):
        with pytest.raises(PermissionError, match="append-only"):
            model.objects.filter(pk=model.objects.first().pk).update(signed_at=timezone.now())
        with pytest.raises(PermissionError, match="append-only"):
            model.objects.all().delete()
    assert chain.verify() == []


def test_a_negative_zero_measurement_verifies_as_stored():
    h = hangar()
    pkg = work.create_package(
        actor=h.planner, aircraft=h.aircraft, title="Check", items=[work.DueRef(h.tasks["PROP"])]
    )
    work.open_package(actor=h.planner, package=pkg)
    step = pkg.cards.get().steps.get(kind="measure")
    work.sign_step(actor=h.tech, step=step, value=-0.0)
    assert chain.verify() == []


def test_what_was_signed_covers_the_step_and_card_as_the_signer_saw_them(released):
    """Raising a step's limit after the fact (to make a value look within limits) or changing
    the card's task shows as an altered signature."""
    h, pkg = released
    step = SignOff.objects.filter(value__isnull=False).first().step
    tamper("UPDATE work_taskstep SET measure_max = 5 WHERE id = %s", (step.pk,))
    code, text = verify_output()
    assert code == 1 and "work.signoff" in text and "altered" in text
