"""Signed records and their hash chains: intact chains verify, and every way of changing
the database behind the app's back is caught and named (both backends)."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from kanat.bundles.importer import import_bundle
from kanat.fleet.models import Aircraft
from kanat.maintenance import services
from kanat.maintenance.models import Compliance, Task
from kanat.records import chain
from kanat.records.models import ChainHead, ChainLink
from tests import factories as f
from tests.maintenance.test_forecast_rules import BASE, bundle, task

pytestmark = pytest.mark.django_db


@pytest.fixture
def records():
    """Two operators' aircraft with compliance records, signed as they were written."""
    doc = bundle(
        operators=[*BASE["operators"], {"code": "OP2", "name": "Second"}],
        aircraft=[
            *BASE["aircraft"],
            {"serial": "B1", "variant": "V", "operator": "OP2", "delivered": "2025-01-01"},
        ],
        tasks=[task(interval={"DY": 30})],
        compliance=[
            {"task": "T1", "aircraft": serial, "done_at": f"2025-0{m}-01T10:00:00Z"}
            for serial in ("A1", "B1")
            for m in (2, 3, 4)
        ],
    )
    import_bundle(json.dumps(doc).encode())
    planner = f.user(role="planner")
    services.record_compliance(
        actor=planner,
        task=Task.objects.get(code="T1"),
        aircraft=Aircraft.objects.get(serial="A1"),
        done_at=f.utc(2025, 5, 1, 9),
        qualification_ref="CA-7 / B1 KZ.66.0042 (CAC)",
    )
    return list(Compliance.objects.order_by("pk"))


def tamper(sql: str, params: tuple = ()) -> None:
    """Change the database directly, as someone with database access would (on PostgreSQL
    with the append-only triggers switched off, as its superuser can)."""
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            cur.execute("SET session_replication_role = replica")
        cur.execute(sql, params)
        if connection.vendor == "postgresql":
            cur.execute("SET session_replication_role = DEFAULT")


def verify_output() -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("records", "verify", stdout=out, stderr=err)
    except SystemExit as exc:
        return int(exc.code or 0), err.getvalue()
    return 0, out.getvalue()


def test_records_are_signed_into_one_chain_per_operator(records):
    links = list(ChainLink.objects.order_by("chain", "seq"))
    assert [(link.chain, link.seq) for link in links] == [("OP", n) for n in range(1, 5)] + [
        ("OP2", n) for n in range(1, 4)
    ]
    assert links[3].qualification_ref == "CA-7 / B1 KZ.66.0042 (CAC)"
    assert links[3].prev_hash == links[2].hash and links[0].prev_hash == chain.ZERO
    assert {h.chain: h.seq for h in ChainHead.objects.all()} == {"OP": 4, "OP2": 3}
    assert chain.verify() == []
    code, text = verify_output()
    assert code == 0 and "intact: 2 chains, 7 signed records" in text


def test_an_altered_record_is_named(records):
    target = records[1]
    tamper("UPDATE maintenance_compliance SET reference = %s WHERE id = %s", ("x", target.pk))
    code, text = verify_output()
    seq = ChainLink.objects.get(subject_id=target.pk).seq
    assert code == 1
    assert f"BROKEN: chain OP, record #{seq} (maintenance.compliance {target.pk})" in text
    assert "the record differs from what was signed (altered)" in text


def test_a_deleted_record_is_named(records):
    target = records[4]
    tamper("DELETE FROM maintenance_compliance WHERE id = %s", (target.pk,))
    code, text = verify_output()
    assert (
        code == 1 and f"maintenance.compliance {target.pk}): the signed record is missing" in text
    )


def test_a_record_inserted_directly_is_named(records):
    src = records[0]
    tamper(
        "INSERT INTO maintenance_compliance (task_id, aircraft_id, operator_id, done_at,"
        " performed_by_label, reference, correction_reason, recorded_at)"
        " SELECT task_id, aircraft_id, operator_id, done_at, 'forged', '', '', recorded_at"
        " FROM maintenance_compliance WHERE id = %s",
        (src.pk,),
    )
    forged = Compliance.objects.get(performed_by_label="forged")
    code, text = verify_output()
    assert code == 1
    assert f"(maintenance.compliance {forged.pk}): has no signature (inserted directly)" in text


def test_altered_removed_and_inserted_links_are_named(records):
    link = ChainLink.objects.get(chain="OP", seq=2)
    tamper("UPDATE records_chainlink SET signer_label = 'someone else' WHERE id = %s", (link.pk,))
    assert "record #2" in str(chain.verify_chain("OP"))
    assert "signature's fields were altered" in str(chain.verify_chain("OP"))
    tamper(
        "UPDATE records_chainlink SET signer_label = %s WHERE id = %s", (link.signer_label, link.pk)
    )
    assert chain.verify_chain("OP") is None
    tamper("DELETE FROM records_chainlink WHERE chain = 'OP2' AND seq = 2")
    assert "record #2 is missing (the next is #3)" in str(chain.verify_chain("OP2"))
    tamper("DELETE FROM records_chainlink WHERE chain = 'OP' AND seq = 4")
    found = chain.verify_chain("OP")
    assert found is not None and "records #4 were removed from its end" in str(found)


def test_a_relinked_forgery_does_not_follow_its_chain(records):
    """Someone who re-computes a changed record's content hash still breaks the link's hash,
    and re-computing that breaks the next link."""
    target = records[0]
    tamper("UPDATE maintenance_compliance SET reference = 'forged' WHERE id = %s", (target.pk,))
    row = Compliance.objects.select_related("task", "aircraft").get(pk=target.pk)
    link = ChainLink.objects.get(subject_id=target.pk)
    link.content_sha256 = chain.sha256(chain._compliance_content(row))
    tamper(
        "UPDATE records_chainlink SET content_sha256 = %s, hash = %s WHERE id = %s",
        (link.content_sha256, chain.link_hash(link), link.pk),
    )
    found = chain.verify_chain("OP")
    assert found is not None and found.seq == 2 and "does not follow" in found.problem


def test_the_app_refuses_to_change_signed_rows(records):
    with pytest.raises(PermissionError, match="append-only"):
        records[0].delete()
    link = ChainLink.objects.first()
    with pytest.raises(PermissionError, match="append-only"):
        link.save()


@pytest.mark.postgres
def test_postgresql_refuses_updates_and_deletes_itself(records):
    for sql in (
        "UPDATE maintenance_compliance SET reference = 'x'",
        "DELETE FROM maintenance_compliance",
        "UPDATE records_chainlink SET signer_label = 'x'",
        "DELETE FROM records_chainlink",
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cur,
        ):
            cur.execute(sql)
    assert chain.verify() == []
