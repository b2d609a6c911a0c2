"""Reading a bundle into checked plain data. Every error names the entry and the field."""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from typing import Any

from kanat.core.errors import RuleViolation

UNITS = ("FH", "FC", "DY", "MO")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class BundleError(RuleViolation):
    """A bundle entry is wrong; nothing was imported."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}", field=where)
        self.where = where


@dataclass
class Cursor:
    """Where we are in the bundle, for messages: ``aircraft[3] (KZ-004).delivered``."""

    path: str

    def at(self, name: str) -> str:
        return f"{self.path}.{name}"


def _label(section: str, index: int, entry: Any, key: str | None) -> str:
    label = f"{section}[{index}]"
    if key and isinstance(entry, dict) and isinstance(entry.get(key), str):
        label += f" ({entry[key]})"
    return label


def need(entry: dict[str, Any], where: str, name: str) -> Any:
    if name not in entry or entry[name] is None:
        raise BundleError(f"{where}.{name}", "is missing")
    return entry[name]


def text(entry: dict[str, Any], where: str, name: str, *, required: bool = True) -> str:
    value = need(entry, where, name) if required else entry.get(name, "")
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise BundleError(f"{where}.{name}", f"{value!r} is not a string")
    if required and not value.strip():
        raise BundleError(f"{where}.{name}", "is empty")
    return value


def instant(value: Any, where: str) -> dt.datetime:
    if not isinstance(value, str):
        raise BundleError(where, f"{value!r} is not an ISO 8601 time")
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise BundleError(where, f"{value!r} is not an ISO 8601 time") from None
    if "T" not in value and " " not in value:
        raise BundleError(where, f"{value!r} is a date; a time with an offset is needed here")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise BundleError(
            where, f"{value!r} has no offset (add Z or +05:00): naive times are refused"
        )
    return moment.astimezone(dt.UTC)


def date(value: Any, where: str) -> dt.date:
    if not isinstance(value, str) or not DATE_RE.match(value):
        raise BundleError(where, f"{value!r} is not a date (YYYY-MM-DD)")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise BundleError(where, f"{value!r} is not a valid date") from None


def number(value: Any, where: str, *, whole: bool = False, minimum: float | None = 0) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BundleError(where, f"{value!r} is not a number")
    if value != value or value in (float("inf"), float("-inf")):
        raise BundleError(where, f"{value!r} is not a finite number")
    if whole and float(value) != int(value):
        raise BundleError(where, f"{value!r} is not a whole number")
    if minimum is not None and value < minimum:
        raise BundleError(where, f"{value} is negative" if minimum == 0 else f"{value} < {minimum}")
    return float(value)


def units(
    value: Any, where: str, allowed: tuple[str, ...] = UNITS, *, whole: bool = True
) -> dict[str, float]:
    """Per-unit numbers; cycles, days and months whole unless ``whole`` is False (rates)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise BundleError(where, f'{value!r} is not an object of units such as {{"FH": 100}}')
    out = {}
    for unit, amount in value.items():
        if unit not in allowed:
            raise BundleError(
                f"{where}.{unit}", f"unit {unit!r} is not one of {', '.join(allowed)}"
            )
        out[unit] = number(amount, f"{where}.{unit}", whole=whole and unit != "FH")
    return out


def counters(value: Any, where: str) -> dict[str, float]:
    return units(value, where, ("FH", "FC"))


@dataclass
class Bundle:
    operators: list[dict[str, Any]] = field(default_factory=list)
    variants: list[dict[str, Any]] = field(default_factory=list)
    part_numbers: list[dict[str, Any]] = field(default_factory=list)
    aircraft: list[dict[str, Any]] = field(default_factory=list)
    parts: list[dict[str, Any]] = field(default_factory=list)
    installations: list[dict[str, Any]] = field(default_factory=list)
    flights: list[dict[str, Any]] = field(default_factory=list)
    tasks: list[dict[str, Any]] = field(default_factory=list)
    compliance: list[dict[str, Any]] = field(default_factory=list)


SECTIONS = {
    "operators": "code",
    "variants": "code",
    "part_numbers": "pn",
    "aircraft": "serial",
    "parts": "serial",
    "installations": "serial",
    "flights": "aircraft",
    "tasks": "code",
    "compliance": "task",
}


def load(raw: bytes | str) -> Bundle:
    """Parse the JSON and check the envelope and the shape of its sections."""
    try:
        doc = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise BundleError(
            "bundle", f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except UnicodeDecodeError:
        raise BundleError("bundle", "not UTF-8 text") from None
    if not isinstance(doc, dict):
        raise BundleError("bundle", "the document must be a JSON object")
    version = doc.get("kanat_bundle")
    if version != 1:
        raise BundleError("kanat_bundle", f"{version!r}: this Kanat reads bundle version 1")
    unknown = sorted(set(doc) - set(SECTIONS) - {"kanat_bundle"})
    if unknown:
        raise BundleError(unknown[0], f"unknown section (known: {', '.join(SECTIONS)})")
    bundle = Bundle()
    for section in SECTIONS:
        entries = doc.get(section, [])
        if not isinstance(entries, list):
            raise BundleError(section, "must be a list")
        for i, entry in enumerate(entries):
            if not isinstance(entry, dict):
                raise BundleError(f"{section}[{i}]", "must be an object")
        setattr(bundle, section, entries)
    return bundle


def label(section: str, index: int, entry: dict[str, Any]) -> str:
    return _label(section, index, entry, SECTIONS[section])
