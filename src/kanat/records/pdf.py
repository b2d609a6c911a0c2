"""PDF renderings a person reads: a printable task card, and the report of a record package.

``task_card_pdf(card)`` reads one card (its package, aircraft, steps and standing sign-offs)
and lays it out for the hangar: every step with its limits and a box for the signature or
stamp, filled in where the step is already signed. ``package_pdf(data)`` renders the
``package.json`` of ``kanat records export`` (``kanat.records.package``).

Fonts: DejaVu Sans (Unicode: Latin, Cyrillic including Kazakh, Greek) when the system has it
(Debian's ``fonts-dejavu-core``, on every machine of this project); otherwise fpdf2's core
Helvetica, which is Latin-1 only: accented letters lose their accent and anything else
outside Latin-1 prints as ``?`` (the footer says so). The layout code is Django-free;
only ``task_card_data`` reads the database, importing the models when called.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from fpdf import FPDF
from fpdf.enums import XPos, YPos

FONT_DIRS = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/dejavu"),
    Path("/usr/local/share/fonts/dejavu"),
    Path("/Library/Fonts"),
)
# fixed, so the same data renders to the same bytes (the package manifest hashes the PDF)
PDF_DATE = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)

_ASCII = {
    "\u2013": "-",
    "\u2014": "-",
    "\u2212": "-",
    "\u2018": "'",
    "\u2019": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u2026": "...",
    "\u2264": "<=",
    "\u2265": ">=",
    "\u2022": "*",
    "\u2192": "->",
}


def unicode_font() -> tuple[Path, Path] | None:
    """DejaVu Sans regular and bold, when the system has them."""
    for d in FONT_DIRS:
        regular, bold = d / "DejaVuSans.ttf", d / "DejaVuSans-Bold.ttf"
        if regular.is_file() and bold.is_file():
            return regular, bold
    return None


def latin1(text: str) -> str:
    """Text the core fonts can print: punctuation spelled in ASCII, accents dropped where
    that leaves a Latin-1 letter, and ``?`` for anything else."""
    out = []
    for ch in text:
        if ord(ch) < 256:
            out.append(ch)
        elif ch in _ASCII:
            out.append(_ASCII[ch])
        else:
            base = "".join(
                c
                for c in unicodedata.normalize("NFKD", ch)
                if ord(c) < 256 and not unicodedata.combining(c)
            )
            out.append(base or "?")
    return "".join(out)


def when(value: str | dt.datetime | None) -> str:
    """An instant as ``YYYY-MM-DD HH:MMZ`` (UTC); ISO text or a datetime."""
    if value is None or value == "":
        return "-"
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return str(value)
    assert isinstance(value, dt.datetime)
    if value.tzinfo is None:
        return value.strftime("%Y-%m-%d %H:%M")
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%MZ")


def num(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


class Document(FPDF):
    """A4 portrait with a running title and page numbers; headings, key/value blocks and
    tables, with text made printable for the font in use."""

    def __init__(self, title: str, subtitle: str = "") -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.doc_title = title
        self.doc_subtitle = subtitle
        self.set_creation_date(PDF_DATE)
        self.set_title(title)
        self.set_creator("Kanat")
        self.set_margins(14, 14, 14)
        self.set_auto_page_break(True, margin=16)
        fonts = unicode_font()
        self.unicode = fonts is not None
        if fonts is not None:
            self.add_font("Body", "", str(fonts[0]))
            self.add_font("Body", "B", str(fonts[1]))
            self.family = "Body"
        else:
            self.family = "Helvetica"
        self.alias_nb_pages()
        self.add_page()

    # text -----------------------------------------------------------------------------

    def t(self, text: Any) -> str:
        s = "" if text is None else str(text)
        return s if self.unicode else latin1(s)

    def font(self, size: float = 9, bold: bool = False) -> None:
        self.set_font(self.family, "B" if bold else "", size)

    # page furniture -------------------------------------------------------------------

    def header(self) -> None:
        self.font(8)
        self.set_text_color(90)
        self.cell(0, 4, self.t(self.doc_title), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        if self.doc_subtitle:
            self.cell(0, 4, self.t(self.doc_subtitle), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.set_text_color(0)
        self.ln(2)

    def footer(self) -> None:
        self.set_y(-12)
        self.font(7)
        self.set_text_color(90)
        note = "" if self.unicode else "  (Latin-1 font: other characters printed as ?)"
        self.cell(0, 4, self.t(f"Page {self.page_no()} of {{nb}}{note}"), align="R")
        self.set_text_color(0)

    # blocks ---------------------------------------------------------------------------

    def title_block(self, text: str, size: float = 15) -> None:
        self.font(size, bold=True)
        self.multi_cell(0, size * 0.5, self.t(text), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.ln(1)

    def heading(self, text: str, room: float = 40) -> None:
        """A section heading, on a new page when less than ``room`` mm is left."""
        if self.get_y() > self.h - room:
            self.add_page()
        self.ln(2)
        self.font(11, bold=True)
        self.cell(0, 6, self.t(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT, border="B")
        self.ln(1.5)
        self.font(9)

    def para(self, text: str, size: float = 9, bold: bool = False) -> None:
        self.font(size, bold)
        self.multi_cell(0, size * 0.5, self.t(text), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.font(9)

    def pairs(self, rows: Iterable[tuple[str, Any]], key_width: float = 42) -> None:
        """Label: value lines."""
        for key, value in rows:
            self.font(9, bold=True)
            self.cell(key_width, 5, self.t(key))
            self.font(9)
            self.multi_cell(0, 5, self.t(value), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def grid(
        self,
        headings: Sequence[str],
        rows: Iterable[Sequence[Any]],
        widths: Sequence[float],
        size: float = 8,
        empty: str = "none",
    ) -> None:
        """A table with a heading row repeated on each page; cells wrap."""
        rows = list(rows)
        if not rows:
            self.para(empty, size=size)
            self.ln(1)
            return
        self.font(size)
        with self.table(
            col_widths=tuple(widths),
            width=self.epw,
            line_height=size * 0.5,
            text_align="LEFT",
            first_row_as_headings=True,
            repeat_headings=1,
            padding=1,
        ) as table:
            head = table.row()
            for h in headings:
                head.cell(self.t(h))
            for values in rows:
                row = table.row()
                for v in values:
                    row.cell(self.t(v))
        self.ln(1.5)

    def box(self, label: str, lines: Sequence[str], height: float = 18) -> None:
        """A bordered box for a signature or stamp, with what is already signed in it."""
        height = max(height, 8 + 4.2 * len(lines))
        if self.get_y() + height > self.h - 16:
            self.add_page()
        x, y = self.get_x(), self.get_y()
        self.set_xy(x + 2, y + 1.5)
        self.font(9, bold=True)
        self.cell(0, 4.5, self.t(label), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self.font(8.5)
        for line in lines:
            self.set_x(x + 2)
            self.multi_cell(
                self.epw - 4, 4.2, self.t(line), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT
            )
        bottom = max(self.get_y() + 1.5, y + height)
        self.rect(x, y, self.epw, bottom - y)
        self.set_xy(x, bottom + 2)

    def bytes(self) -> bytes:
        return bytes(self.output())


# --- task cards ------------------------------------------------------------------------


def _who(signer: Any) -> str:
    name = signer.get_full_name().strip() if hasattr(signer, "get_full_name") else ""
    username = signer.get_username()
    return f"{name} ({username})" if name and name != username else username


def _signature(s: Any) -> dict[str, Any]:
    return {
        "id": s.pk,
        "kind": s.kind,
        "signer": _who(s.signer),
        "signed_at": s.signed_at,
        "qualification_ref": s.qualification_ref,
        "value": s.value,
        "within_limits": s.within_limits,
        "remark": s.remark,
        "part": str(s.part) if s.part_id else "",
        "removal_reason": s.removal_reason,
        "corrects": s.corrects_id,
        "correction_reason": s.correction_reason,
        "corrected_by": getattr(getattr(s, "corrected_by", None), "pk", None),
    }


def task_card_data(card: Any) -> dict[str, Any]:
    """What a printed card shows, read from the database (the card, its package and aircraft,
    its steps and every sign-off on it)."""
    from django.core.exceptions import ObjectDoesNotExist

    from kanat.work.models import SignOff, TaskCard

    card = TaskCard.objects.select_related(
        "package__aircraft__variant__aircraft_type",
        "package__aircraft__operator",
        "task",
        "revision",
        "part__part_number",
        "defect",
    ).get(pk=card.pk)
    package, aircraft = card.package, card.package.aircraft
    signoffs = list(
        SignOff.objects.filter(card=card)
        .select_related("signer", "part__part_number", "corrected_by")
        .order_by("signed_at", "pk")
    )
    standing = [s for s in signoffs if not _corrected(s, ObjectDoesNotExist)]
    by_step: dict[int, Any] = {s.step_id: s for s in standing if s.kind == "step"}
    steps = []
    for step in card.steps.select_related("position").order_by("seq"):
        signed = by_step.get(step.pk)
        steps.append(
            {
                "seq": step.seq,
                "kind": step.kind,
                "text": step.text,
                "reference": step.reference,
                "measure": step.measure_name,
                "unit": step.measure_unit,
                "limits": step.limits_text,
                "position": step.position.code if step.position_id else "",
                "signed": _signature(signed) if signed else None,
            }
        )
    card_sig = next((s for s in standing if s.kind == "card"), None)
    inspection = next((s for s in standing if s.kind == "inspection"), None)
    return {
        "package": package.number,
        "package_title": package.title,
        "package_status": package.get_status_display(),
        "aircraft": aircraft.serial,
        "type": f"{aircraft.variant.aircraft_type.code} {aircraft.variant.code}",
        "operator": str(aircraft.operator),
        "seq": card.seq,
        "title": card.title,
        "ata": card.ata,
        "critical": card.critical,
        "status": card.get_status_display(),
        "task": card.task.code if card.task_id else "",
        "revision": str(card.revision.number) if card.revision_id else "",
        "part": str(card.part) if card.part_id else "",
        "defect": card.defect.number if card.defect_id else "",
        "tools": list(card.tools or []),
        "parts_required": list(card.parts_required or []),
        "references": list(card.references or []),
        "steps": steps,
        "card_signoff": _signature(card_sig) if card_sig else None,
        "inspection": _signature(inspection) if inspection else None,
        "corrected": [_signature(s) for s in signoffs if _corrected(s, ObjectDoesNotExist)],
    }


def _corrected(s: Any, missing: type[Exception]) -> bool:
    try:
        return s.corrected_by is not None
    except missing:
        return False


def _part_line(item: Any) -> str:
    if isinstance(item, dict):
        pn = item.get("pn") or item.get("part_number") or ""
        qty = item.get("qty")
        rest = ", ".join(f"{k} {v}" for k, v in item.items() if k not in ("pn", "qty"))
        return (
            f"{pn}" + (f" x {num(qty)}" if qty is not None else "") + (f" ({rest})" if rest else "")
        )
    return str(item)


def _item(item: Any) -> str:
    if isinstance(item, dict):
        return ", ".join(f"{k}: {v}" for k, v in item.items())
    return str(item)


def _signed_lines(s: dict[str, Any], unit: str = "") -> list[str]:
    lines = [
        f"Signed by {s['signer']} at {when(s['signed_at'])}",
        f"Qualification: {s['qualification_ref'] or '-'}",
    ]
    if s.get("value") is not None:
        verdict = {True: "within limits", False: "OUTSIDE LIMITS", None: ""}[s["within_limits"]]
        lines.append(
            f"Measured: {s['value']:g} {unit}".rstrip() + (f" ({verdict})" if verdict else "")
        )
    if s.get("part"):
        what = "Removed" if s.get("removal_reason") else "Part"
        reason = f" ({s['removal_reason']})" if s.get("removal_reason") else ""
        lines.append(f"{what}: {s['part']}{reason}")
    if s.get("remark"):
        lines.append(f"Remark: {s['remark']}")
    if s.get("corrects"):
        lines.append(f"Corrects sign-off {s['corrects']}: {s['correction_reason']}")
    return lines


def render_task_card(data: dict[str, Any]) -> bytes:
    """The card laid out from ``task_card_data``: Django-free."""
    doc = Document(
        f"Task card {data['package']}/{data['seq']}",
        f"Aircraft {data['aircraft']} - {data['operator']}",
    )
    doc.title_block(f"{data['package']} / card {data['seq']}: {data['title']}")
    if data["critical"]:
        doc.set_fill_color(255, 230, 200)
        doc.font(10, bold=True)
        doc.cell(
            0,
            7,
            doc.t("CRITICAL TASK - independent inspection required"),
            border=1,
            fill=True,
            new_x=XPos.LMARGIN,
            new_y=YPos.NEXT,
        )
        doc.ln(1.5)
    doc.pairs(
        [
            ("Work package", f"{data['package']} - {data['package_title']}"),
            ("Aircraft", f"{data['aircraft']} ({data['type']}), {data['operator']}"),
            ("ATA chapter", data["ata"]),
            (
                "Task",
                (data["task"] + (f" rev. {data['revision']}" if data["revision"] else ""))
                if data["task"]
                else "-",
            ),
        ]
        + ([("Part", data["part"])] if data["part"] else [])
        + ([("Defect", data["defect"])] if data["defect"] else [])
        + [("Status", data["status"])]
    )
    doc.heading("Tools, parts and references")
    doc.pairs(
        [
            ("Tools", "; ".join(_item(t) for t in data["tools"]) or "none listed"),
            ("Parts required", "; ".join(_part_line(p) for p in data["parts_required"]) or "none"),
            ("References", "; ".join(_item(r) for r in data["references"]) or "none listed"),
        ]
    )
    doc.heading("Steps")
    for step in data["steps"]:
        if doc.get_y() > doc.h - 50:
            doc.add_page()
        doc.para(f"{step['seq']}. {step['text']}", size=9.5, bold=True)
        details = []
        if step["kind"] != "action":
            details.append(f"Kind: {step['kind']}")
        if step["reference"]:
            details.append(f"Reference: {step['reference']}")
        if step["measure"]:
            details.append(
                f"Measure: {step['measure']}" + (f" ({step['unit']})" if step["unit"] else "")
            )
        if step["limits"]:
            details.append(f"Limits: {step['limits']}")
        if step["position"]:
            details.append(f"Position: {step['position']}")
        if details:
            doc.para("   ".join(details), size=8.5)
        signed = step["signed"]
        if signed:
            doc.box("Performed", _signed_lines(signed, step["unit"]), height=16)
        else:
            blank = ["Measured value: ________ " + step["unit"]] if step["measure"] else []
            doc.box("Performed - signature / stamp, date, qualification", blank, height=16)
    doc.heading("Card sign-off")
    if data["card_signoff"]:
        doc.box("All steps done - card signed", _signed_lines(data["card_signoff"]))
    else:
        doc.box("All steps done - signature / stamp, date, qualification", [])
    if data["critical"]:
        if data["inspection"]:
            doc.box("Independent inspection", _signed_lines(data["inspection"]))
        else:
            doc.box(
                "Independent inspection - by a person who did none of this work",
                ["Signature / stamp, date, qualification:"],
            )
    if data["corrected"]:
        doc.heading("Corrected sign-offs (withdrawn)")
        doc.grid(
            ("Id", "Kind", "Signed by", "At", "Value"),
            (
                (s["id"], s["kind"], s["signer"], when(s["signed_at"]), num(s["value"], 3))
                for s in data["corrected"]
            ),
            (10, 18, 40, 25, 15),
        )
    return doc.bytes()


def task_card_pdf(card: Any) -> bytes:
    """A printable task card (``application/pdf`` bytes) for a ``kanat.work`` TaskCard."""
    return render_task_card(task_card_data(card))


# --- record packages -------------------------------------------------------------------


UNIT_ORDER = ("FH", "FC", "DY", "MO")


def _units_text(values: dict[str, Any] | None) -> str:
    if not values:
        return "-"
    units = sorted(values, key=lambda u: (UNIT_ORDER.index(u) if u in UNIT_ORDER else 9, u))
    return ", ".join(f"{u} {num(values[u], 1)}" for u in units)


def _signer(entry: dict[str, Any]) -> str:
    return str(entry.get("signer_label") or entry.get("performed_by_label") or "-")


def package_pdf(data: dict[str, Any]) -> bytes:
    """The person-readable report of a record package (``package.json``'s data)."""
    ac = data["aircraft"]
    doc = Document(
        f"Record package - aircraft {ac['serial']}",
        f"As of {when(data['as_of'])} - exported {when(data.get('exported_at'))}",
    )
    doc.title_block(f"Maintenance records of {ac['serial']}")
    air = ac.get("airworthiness") or {}
    doc.pairs(
        [
            (
                "Aircraft",
                f"{ac['serial']} - {ac['type']} ({ac['type_name']}), variant {ac['variant']}",
            ),
            ("Operator", f"{ac['operator']['code']} {ac['operator']['name']}"),
            ("Delivered", ac["delivered"]),
            ("Status", ac["status"]),
            ("Counters", f"{num(ac['counters']['FH'], 1)} FH, {ac['counters']['FC']} FC"),
            ("As of", when(data["as_of"])),
            (
                "Airworthiness",
                f"{air.get('status') or '-'}"
                + (": " + "; ".join(air["reasons"]) if air.get("reasons") else ""),
            ),
            (
                "Signed records",
                f"{data['records']['count']} in chain"
                + ("s " if len(data["records"]["chains"]) != 1 else " ")
                + ", ".join(
                    f"{c['chain']} (to #{c['head']}, head hash {c['head_hash']})"
                    for c in data["records"]["chains"]
                ),
            ),
        ]
    )
    doc.ln(1)
    doc.para(
        "This report renders package.json. The package's records.json and chain.json carry the "
        "signed records and their hash chains; `kanat records verify-package FOLDER` checks "
        "them, and this file, against manifest.json without any database.",
        size=8,
    )

    doc.heading("Current configuration")
    doc.grid(
        ("Position", "Name", "ATA", "Part (P/N / S/N)", "Installed", "Reference"),
        (
            (
                "  " * s["depth"] + s["position"],
                s["name"],
                s["ata"],
                f"{s['part']['pn']} / {s['part']['serial']}" if s["part"] else "(empty)",
                when(s["installed_at"]),
                s["reference"] or "",
            )
            for s in data["configuration"]
        ),
        (28, 36, 14, 38, 28, 38),
        empty="no positions defined",
    )

    doc.heading("Life-limited parts")
    doc.grid(
        ("Part", "Position", "Task", "Limit", "Used", "Remaining", "Due date", "Status"),
        (
            (
                f"{p['pn']} / {p['serial']}",
                p["position"],
                f"{p['task']} {p['title']}",
                _units_text(p["limit"]),
                _units_text(p["used"]),
                _units_text(p["remaining"]),
                p["due_date"] or "-",
                p["status"] or "-",
            )
            for p in data["life_limited_parts"]
        ),
        (30, 18, 34, 22, 26, 22, 18, 16),
        empty="no life-limited part fitted",
    )

    doc.heading("Directives and one-off tasks")
    doc.grid(
        ("Task", "Title", "Applies to", "Status", "Done / due", "By, reference"),
        (
            (
                d["task"],
                d["title"],
                d["applies_to"],
                d["status"],
                when(d["done_at"])
                if d["done"]
                else f"{d.get('due_date') or '-'} ({_units_text(d.get('remaining'))} left)",
                f"{d.get('performed_by_label') or '-'}, {d.get('reference') or '-'}"
                if d["done"]
                else "",
            )
            for d in data["directives"]
        ),
        (24, 44, 26, 16, 36, 36),
        empty="no one-off task applies",
    )

    history = data["history"]
    doc.heading("Compliance records")
    doc.grid(
        ("Done at", "Task", "On", "By", "Reference", "Record"),
        (
            (
                when(c["done_at"]),
                f"{c['task']} {c['title']}" + (" (corrected)" if c.get("corrected") else ""),
                c["on"],
                c["performed_by_label"] or _signer(c),
                c["reference"]
                + (
                    f" - corrects #{c['corrects']}: {c['correction_reason']}"
                    if c["corrects"]
                    else ""
                ),
                f"{c['chain']} #{c['seq']}",
            )
            for c in history["compliance"]
        ),
        (26, 46, 26, 22, 44, 18),
    )

    doc.heading("Work packages", room=80)
    if not history["packages"]:
        doc.para("none")
    for p in history["packages"]:
        if doc.get_y() > doc.h - 60:
            doc.add_page()
        doc.para(f"{p['number']} - {p['title']} ({p['status']})", size=10, bold=True)
        doc.para(
            f"Created {when(p['created_at'])}, opened {when(p['opened_at'])}, "
            f"completed {when(p['completed_at'])}, released {when(p['released_at'])}",
            size=8,
        )
        for card in p["cards"]:
            if doc.get_y() > doc.h - 50:  # the card's title with at least a row of its table
                doc.add_page()
            doc.para(
                f"Card {card['seq']}: {card['title']} - ATA {card['ata']}"
                + (" - CRITICAL" if card["critical"] else "")
                + (f" - task {card['task']}" if card["task"] else "")
                + (f" - part {card['part']}" if card["part"] else "")
                + (f" - defect {card['defect']}" if card["defect"] else "")
                + f" ({card['status']})",
                size=9,
                bold=True,
            )
            steps = {s["seq"]: s for s in card["steps"]}
            doc.grid(
                (
                    "Kind",
                    "Step",
                    "Signed by",
                    "At",
                    "Qualification",
                    "Value, remark",
                    "Record",
                ),
                (
                    (
                        s["kind"] + (" (corrected)" if s.get("corrected") else ""),
                        f"{s['step']}. {steps[s['step']]['text']}" if s["step"] in steps else "-",
                        _signer(s),
                        when(s["signed_at"]),
                        s["qualification_ref"] or "-",
                        "; ".join(
                            x
                            for x in (
                                (
                                    f"{s['value']:g} {steps[s['step']]['unit']}".strip()
                                    + (" OUT OF LIMITS" if s["within_limits"] is False else "")
                                )
                                if s["value"] is not None and s["step"] in steps
                                else "",
                                f"part {s['part']}" if s.get("part") else "",
                                s["remark"],
                                f"corrects: {s['correction_reason']}" if s["corrects_id"] else "",
                            )
                            if x
                        ),
                        f"{s['chain']} #{s['seq']}",
                    )
                    for s in card["signoffs"]
                ),
                (14, 42, 20, 22, 42, 26, 16),
                empty="not signed",
            )
        release = p["release"]
        if release:
            doc.box(
                "Certificate of release to service",
                [
                    release["statement"],
                    f"Signed by {_signer(release)} at {when(release['signed_at'])}, "
                    f"qualification {release['qualification_ref'] or '-'} "
                    f"(record {release['chain']} #{release['seq']})",
                ],
                height=14,
            )

    doc.heading("Defects")
    if not history["defects"]:
        doc.para("none")
    for d in history["defects"]:
        if doc.get_y() > doc.h - 40:
            doc.add_page()
        doc.para(
            f"{d['number']} - ATA {d['ata']} - {d['status']}: {d['description']}", size=9, bold=True
        )
        doc.para(
            f"Found {when(d['found_at'])} ({d['source']}"
            + (f", {d['source_ref']})" if d["source_ref"] else ")")
            + (f"; deadline {when(d['deadline'])}" if d["deadline"] else "")
            + (f"; closed {when(d['closed_at'])}" if d["closed_at"] else ""),
            size=8,
        )
        for x in d["deferrals"]:
            doc.para(
                f"Deferred (MEL {x['category']}, item {x['mel_item']}) to {when(x['deadline'])} by "
                f"{_signer(x)} at {when(x['signed_at'])}, {x['qualification_ref'] or '-'}: "
                f"{x['reason']} (record {x['chain']} #{x['seq']})",
                size=8,
            )
        if d["closure"]:
            c = d["closure"]
            doc.para(
                f"Closed by {_signer(c)} at {when(c['signed_at'])} "
                f"({c['qualification_ref'] or '-'}), card {c.get('card') or c['card_id']}: "
                f"{c['action']} (record {c['chain']} #{c['seq']})",
                size=8,
            )
        doc.ln(1)
    return doc.bytes()
