"""Record packages: an aircraft's records exported with their chains, checked offline; every
way of changing the files is named. And the printable task card."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from kanat.maintenance import services as mx
from kanat.records import canonical, chain, package, pdf
from kanat.records.models import ChainLink
from kanat.work import services as work
from kanat.work.models import SignOff
from tests import factories as f
from tests.records.test_chain import tamper
from tests.work.scenario import hangar, sign_all_steps

pytestmark = pytest.mark.django_db


@pytest.fixture
def worked():
    """An aircraft with a released package (an ordinary, a critical measured and a part's
    life-limit card; the measurement out of limits, its defect deferred), two directives
    (one done), and a sister aircraft of the same operator with a record of its own."""
    h = hangar()
    v = h.aircraft.variant
    sb_done = mx.define_task(
        actor=None,
        code=f"SB-{h.aircraft.pk}-1",
        title="Aileron hinge bolt replacement (Қазақстан)",
        ata="57-60",
        kind="once",
        variants=[v],
        threshold={"DY": 60},
    )[0].task
    mx.define_task(
        actor=None,
        code=f"AD-{h.aircraft.pk}-2",
        title="Fuel pump inspection",
        ata="28-20",
        kind="once",
        variants=[v],
        threshold={"DY": 90},
    )
    pkg = work.create_package(
        actor=h.planner,
        aircraft=h.aircraft,
        title="A-check",
        items=[
            work.DueRef(h.tasks["GVI"]),
            work.DueRef(h.tasks["PROP"]),
            work.DueRef(h.tasks["ENG-LL"], h.engine),
            work.DueRef(sb_done),
        ],
    )
    work.open_package(actor=h.planner, package=pkg)
    cards = list(pkg.cards.order_by("seq"))
    gvi, prop, life, sb = cards
    for card in (gvi, sb):
        sign_all_steps(card, h.tech)
        work.sign_card(actor=h.tech, card=card)
    sign_all_steps(prop, h.tech, value=3.1)  # out of limits: a defect
    work.sign_card(actor=h.tech, card=prop)
    work.inspect_card(actor=h.inspector, card=prop)
    sign_all_steps(life, h.tech, part=h.spare)
    work.sign_card(actor=h.tech, card=life)
    defect = h.aircraft.defects.get()
    work.defer_defect(
        actor=h.certifier, defect=defect, category="C", mel_item="61-10-01", reason="within MEL"
    )
    work.release_package(actor=h.certifier, package=pkg)
    sister = f.aircraft(operator_=h.operator, variant_=v, delivered=dt.date(2025, 1, 1))
    mx.record_compliance(
        actor=h.planner,
        task=h.tasks["GVI"],
        aircraft=sister,
        done_at=f.utc(2025, 6, 1),
        reference="SISTER-SECRET",
    )
    return h, pkg, defect, sister


@pytest.fixture
def exported(worked, tmp_path):
    h = worked[0]
    out = tmp_path / "pkg"
    package.export(h.aircraft, out)
    return out, worked


def run(*args: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("records", *args, stdout=out, stderr=err)
    except SystemExit as exc:
        return int(exc.code or 0), err.getvalue()
    return 0, out.getvalue()


def load(d: Path, name: str):
    return json.loads((d / name).read_text())


def save(d: Path, name: str, doc) -> None:
    (d / name).write_text(json.dumps(doc, indent=1))


def reseal(d: Path) -> None:
    """Rewrite the manifest for the files as they are now (a forger would)."""
    manifest = load(d, "manifest.json")
    files = {n: package.file_sha256(d / n) for n in package.FILES}
    manifest["files"], manifest["package_sha256"] = files, package.package_sha256(files)
    save(d, "manifest.json", manifest)


def test_export_writes_a_package_that_verifies(exported):
    d, (h, pkg, defect, sister) = exported
    assert sorted(p.name for p in d.iterdir()) == sorted(
        ["manifest.json", "package.json", "records.json", "chain.json", "report.pdf"]
    )
    code, text = run("verify-package", str(d))
    assert code == 0, text
    assert text.startswith(f"intact: record package of {h.aircraft.serial}")
    assert package.verify_package(d).records == len(load(d, "records.json")["records"])

    data = load(d, "package.json")
    assert data["aircraft"]["operator"]["code"] == h.operator.code
    assert data["aircraft"]["counters"] == {"FH": 0.0, "FC": 0}
    labels = [r["record"].split(":")[0] for r in load(d, "records.json")["records"]]
    # 4 cards' steps (1 + 3 + 2 + 1), 4 card sign-offs, 1 inspection, a deferral, a release
    # and its 4 compliance records
    assert labels.count("work.signoff") == 12
    assert labels.count("maintenance.compliance") == 4
    assert labels.count("work.release") == labels.count("work.deferral") == 1
    history = data["history"]
    assert [c["number"] for c in history["packages"]] == [pkg.number]
    assert len(history["packages"][0]["cards"]) == 4
    assert history["packages"][0]["release"]["record"].startswith("work.release:")
    assert history["defects"][0]["number"] == defect.number
    assert history["defects"][0]["deferrals"][0]["mel_item"] == "61-10-01"
    # the engine's life-limit compliance is in the history though it was removed by the card
    on = {c["task"]: c["on"] for c in history["compliance"]}
    assert on[h.tasks["ENG-LL"].code] == str(h.engine)
    # configuration now: the spare in the engine position, with its life limit
    assert [s["part"]["serial"] for s in data["configuration"] if s["part"]] == [h.spare.serial]
    (life,) = data["life_limited_parts"]
    assert life["serial"] == h.spare.serial and life["limit"] == {"FH": 1500.0}
    assert life["used"]["FH"] == 0.0 and life["remaining"]["FH"] == 1500
    directives = {d["task"]: d for d in data["directives"]}
    done = directives[f"SB-{h.aircraft.pk}-1"]
    assert done["done"] and done["status"] == "done" and done["reference"].startswith(pkg.number)
    due = directives[f"AD-{h.aircraft.pk}-2"]
    assert not due["done"] and due["status"] in ("ok", "due_soon", "overdue")
    assert "DY" in due["remaining"]

    # the chain is whole from #1, the sister's link is in it but not her record
    (c,) = load(d, "chain.json")["chains"]
    assert [link["seq"] for link in c["links"]] == list(range(1, c["head"]["seq"] + 1))
    sister_link = ChainLink.objects.get(
        subject_model="maintenance.compliance", subject_id=sister.compliances.get().pk
    )
    assert sister_link.seq == c["head"]["seq"]
    assert f"maintenance.compliance:{sister_link.subject_id}" not in {
        r["record"] for r in load(d, "records.json")["records"]
    }
    assert "SISTER-SECRET" not in "".join(
        (d / n).read_text() for n in ("package.json", "records.json", "chain.json")
    )


def test_contents_and_links_are_exactly_those_of_the_chain(exported):
    d, _ = exported
    for r in load(d, "records.json")["records"]:
        label, pk = r["record"].split(":")
        subject = chain.SUBJECTS[label]
        row = subject.model().objects.select_related(*subject.related).get(pk=pk)
        assert canonical.canonical_json(r["content"]) == chain.canonical_json(subject.content(row))
    for link in ChainLink.objects.all():
        assert canonical.header_hash(chain.link_header(link)) == chain.link_hash(link) == link.hash
    value = {"b": [1.5, None, "Қазақ — ü"], "a": {"z": 1, "y": True}}
    assert canonical.canonical_json(value) == chain.canonical_json(value)


def test_report_is_a_real_pdf(exported):
    d, _ = exported
    blob = (d / "report.pdf").read_bytes()
    assert blob.startswith(b"%PDF-") and blob.rstrip().endswith(b"%%EOF")
    pages = len(re.findall(rb"/Type\s*/Page\b", blob))
    assert pages >= 2


def _edit_record(d: Path) -> str:
    doc = load(d, "records.json")
    rec = next(r for r in doc["records"] if r["content"].get("value") is not None)
    rec["content"]["value"] = 2.0  # the out-of-limit 3.1 mm made good
    save(d, "records.json", doc)
    return rec["record"]


def _edit_link_hash(d: Path) -> str:
    doc = load(d, "chain.json")
    doc["chains"][0]["links"][2]["hash"] = "f" * 64
    save(d, "chain.json", doc)
    return "chain.json, chain {} #3".format(doc["chains"][0]["chain"])


def _edit_link_signer(d: Path) -> str:
    doc = load(d, "chain.json")
    link = doc["chains"][0]["links"][4]
    link["signer_label"] = "someone-else"
    save(d, "chain.json", doc)
    return f"chain {link['chain']} #5 ({link['subject']}): the link's fields do not hash"


def _drop_link(d: Path) -> str:
    doc = load(d, "chain.json")
    del doc["chains"][0]["links"][3]
    save(d, "chain.json", doc)
    return "link #4 is missing (the next is #5)"


def _drop_last_link(d: Path) -> str:
    doc = load(d, "chain.json")
    doc["chains"][0]["links"].pop()
    save(d, "chain.json", doc)
    return "links were removed from its end"


def _edit_pdf(d: Path) -> str:
    blob = bytearray((d / "report.pdf").read_bytes())
    blob[200] ^= 0x01
    (d / "report.pdf").write_bytes(bytes(blob))
    return "report.pdf: altered: its SHA-256 differs from the manifest's"


def _remove_file(d: Path) -> str:
    (d / "records.json").unlink()
    return "records.json: missing"


def _edit_history(d: Path) -> str:
    doc = load(d, "package.json")
    entry = doc["history"]["compliance"][0]
    entry["reference"] = "something else"
    save(d, "package.json", doc)
    return f"package.json, {entry['record']}: $.history.compliance[0].reference is"


def _drop_history(d: Path) -> str:
    doc = load(d, "package.json")
    release = doc["history"]["packages"][0]["release"]
    doc["history"]["packages"][0]["release"] = None
    save(d, "package.json", doc)
    return f"{release['record']}: a signed record of the package is not in the history"


def _drop_record(d: Path) -> str:
    doc = load(d, "records.json")
    gone = doc["records"].pop(0)
    save(d, "records.json", doc)
    return f"{gone['record']}: $.history"


def _add_file(d: Path) -> str:
    (d / "notes.txt").write_text("x")
    return "notes.txt: not part of the package"


@pytest.mark.parametrize(
    "edit",
    [
        _edit_record,
        _edit_link_hash,
        _edit_link_signer,
        _drop_link,
        _drop_last_link,
        _edit_pdf,
        _remove_file,
        _edit_history,
        _drop_history,
        _drop_record,
        _add_file,
    ],
)
def test_tampering_is_named(exported, edit):
    """Each change is named, as the files are and with the manifest rewritten to match."""
    d, _ = exported
    resealed = d.parent / "resealed"
    shutil.copytree(d, resealed)
    for folder, reseal_it in ((d, False), (resealed, True)):
        expected = edit(folder)
        if edit is _edit_record:
            expected = f"records.json, {expected}: the content differs from what was signed"
        if reseal_it and (folder / "records.json").exists():
            reseal(folder)
        code, text = run("verify-package", str(folder))
        if edit is _edit_pdf and reseal_it:
            assert code == 0  # the manifest is the PDF's only protection (it renders the JSON)
            continue
        assert code == 1, text
        assert text.startswith("BROKEN: ") and expected in text, (reseal_it, text)


def test_a_manifest_that_does_not_match_is_named(exported):
    d, _ = exported
    manifest = load(d, "manifest.json")
    manifest["files"]["chain.json"] = "0" * 64
    save(d, "manifest.json", manifest)
    code, text = run("verify-package", str(d))
    assert code == 1 and "chain.json: altered: its SHA-256 differs" in text


def test_command_export_refuses_what_it_should(worked, tmp_path):
    h = worked[0]
    with pytest.raises(CommandError, match="no aircraft with serial 'NOPE'"):
        call_command("records", "export", "--aircraft", "NOPE", str(tmp_path / "x"))
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "thesis.docx").write_text("mine")
    with pytest.raises(CommandError, match="not empty and is not a record package"):
        call_command("records", "export", "--aircraft", h.aircraft.serial, str(busy))
    assert [p.name for p in busy.iterdir()] == ["thesis.docx"]
    with pytest.raises(CommandError, match="no offset"):
        call_command(
            "records",
            "export",
            "--aircraft",
            h.aircraft.serial,
            "--as-of",
            "2026-01-01",
            str(tmp_path / "y"),
        )
    # a previous package is replaced, and verifies
    target = tmp_path / "again"
    code, text = run("export", "--aircraft", h.aircraft.serial, str(target))
    assert code == 0 and "exported: record package of" in text
    code, text = run(
        "export", "--aircraft", h.aircraft.serial, "--as-of", "2026-01-01T00:00:00Z", str(target)
    )
    assert code == 0 and "as of 2026-01-01T00:00:00.000000Z" in text
    assert run("verify-package", str(target))[0] == 0
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no staging left


def test_export_refuses_a_broken_database_chain(worked, tmp_path):
    h = worked[0]
    target = h.aircraft.compliances.first()
    tamper("UPDATE maintenance_compliance SET reference = %s WHERE id = %s", ("x", target.pk))
    with pytest.raises(CommandError, match="chain is broken.*altered"):
        call_command("records", "export", "--aircraft", h.aircraft.serial, str(tmp_path / "p"))
    assert not (tmp_path / "p").exists()


def test_verify_package_needs_no_database(exported, django_assert_num_queries):
    d, _ = exported
    with django_assert_num_queries(0):
        assert isinstance(package.verify_package(d), package.Verified)
    # nor Django: a bare interpreter checks it
    script = (
        "import sys; from kanat.records.package import verify_package; "
        "r = verify_package(sys.argv[1]); print(r); "
        "sys.exit(2 if 'django' in sys.modules else 0)"
    )
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    done = subprocess.run(
        [sys.executable, "-c", script, str(d)], capture_output=True, text=True, env=env
    )
    assert done.returncode == 0 and done.stdout.startswith("intact:"), done.stderr


def test_help():
    from kanat.records.management.commands.records import Command

    parser = Command().create_parser("kanat", "records")
    text = parser.format_help()
    assert "verify-package" in text and "export" in text


# --- task cards ------------------------------------------------------------------------


def test_task_card_pdf_with_signed_steps():
    h = hangar()
    pkg = work.create_package(
        actor=h.planner, aircraft=h.aircraft, title="Check", items=[work.DueRef(h.tasks["PROP"])]
    )
    work.open_package(actor=h.planner, package=pkg)
    card = pkg.cards.get()
    steps = list(card.steps.order_by("seq"))
    work.sign_step(actor=h.tech, step=steps[0], remark="spinner off")
    first = work.sign_step(actor=h.tech, step=steps[1], value=1.0)
    work.sign_step(
        actor=h.tech, step=steps[1], value=1.2, corrects=first, correction_reason="misread"
    )
    data = pdf.task_card_data(card)
    assert data["package"] == pkg.number and data["aircraft"] == h.aircraft.serial
    assert data["critical"] and data["tools"] == ["Torque wrench 5-25 Nm", "Tracking stick"]
    assert [s["limits"] for s in data["steps"]] == ["", "0 to 2.5 mm", ""]
    signed = data["steps"][1]["signed"]
    standing = SignOff.objects.get(corrects=first)
    assert signed["id"] == standing.pk and signed["value"] == 1.2 and signed["within_limits"]
    assert signed["qualification_ref"] == standing.qualification_ref != ""
    assert data["steps"][2]["signed"] is None
    assert data["card_signoff"] is None and data["inspection"] is None
    assert [s["id"] for s in data["corrected"]] == [first.pk]
    blob = pdf.task_card_pdf(card)
    assert blob.startswith(b"%PDF-") and len(re.findall(rb"/Type\s*/Page\b", blob)) >= 1


def test_without_a_unicode_font_text_is_latin1(monkeypatch):
    assert pdf.latin1("Қазақ — café ü ≤ 5") == "????? - café ü <= 5"
    monkeypatch.setattr(pdf, "unicode_font", lambda: None)
    doc = pdf.Document("Қазақстан")
    doc.para("Техникалық қызмет — ok")
    assert not doc.unicode and doc.bytes().startswith(b"%PDF-")


def test_deterministic_pdf_bytes(exported, tmp_path):
    d, _ = exported
    data = load(d, "package.json")
    assert pdf.package_pdf(data) == pdf.package_pdf(data) == (d / "report.pdf").read_bytes()
    shutil.rmtree(d)
