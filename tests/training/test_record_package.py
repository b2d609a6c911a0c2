"""A trainee's supervised work travels in the aircraft's record package: the trainee's
signature, its countersignature (naming the trainee as performer) and a decline, each with
its chain link, verifiable offline; an altered trainee signature is caught."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command

from kanat.records import package
from kanat.work import services as work
from tests.training.ladder import ladder, open_card, supervised_trainee

pytestmark = pytest.mark.django_db


def _verify(d) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("records", "verify-package", str(d), stdout=out, stderr=err)
    except SystemExit as exc:
        return int(exc.code or 0), err.getvalue()
    return 0, out.getvalue()


def test_supervised_steps_and_declines_are_in_the_record_package(tmp_path):
    lad = ladder()
    trainee = supervised_trainee(lad)
    h = lad.h
    card = open_card(lad, "PROP")
    first, second = list(card.steps.order_by("seq"))[:2]
    declined = work.sign_step_supervised(actor=trainee, step=first, supervisor=h.tech)
    work.decline_supervised_step(actor=h.tech, entry=declined, reason="redo the spinner")
    entry = work.sign_step_supervised(actor=trainee, step=first, supervisor=h.tech)
    signed = work.countersign_step(actor=h.tech, entry=entry)
    work.sign_step(actor=h.tech, step=second, value=1.0)

    out = tmp_path / "pkg"
    package.export(h.aircraft, out)
    code, text = _verify(out)
    assert code == 0, text

    doc = json.loads((out / "package.json").read_text())
    [card_doc] = [
        c for p in doc["history"]["packages"] for c in p["cards"] if c["title"] == card.title
    ]
    entries = {e["record"]: e for e in card_doc["supervised"]}
    ours = entries[f"work.supervisedstep:{entry.pk}"]
    assert ours["trainee_id"] == trainee.pk and ours["supervisor_id"] == h.tech.pk
    assert ours["declined"] is None and ours["step"] == first.seq
    theirs = entries[f"work.supervisedstep:{declined.pk}"]
    assert theirs["declined"]["reason"] == "redo the spinner"
    countersigned = next(
        s for s in card_doc["signoffs"] if s["record"] == f"work.signoff:{signed.pk}"
    )
    assert countersigned["performed_by_id"] == trainee.pk
    assert countersigned["supervised_id"] == entry.pk

    # a forger changes who performed the step: the content no longer hashes to its link
    records = json.loads((out / "records.json").read_text())
    for r in records["records"]:
        if r["record"] == f"work.supervisedstep:{entry.pk}":
            r["content"]["trainee_id"] = h.tech2.pk
    (out / "records.json").write_text(json.dumps(records))
    code, text = _verify(out)
    assert code != 0
