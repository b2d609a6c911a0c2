"""Ids typed or posted by people: what the database can look up, or 0 (which matches no row).

``str.isdigit`` is not enough: "²" is a digit to Python but no number to ``int``, and an id
beyond a 64-bit integer overflows SQLite. A lookup with 0 finds nothing, so the caller's
"no such row" answer (404, or a refusal naming the field) is what the person sees.
"""

from __future__ import annotations

MAX_ID = 2**63 - 1


def as_id(raw: object) -> int:
    """``raw`` as a row id, or 0 when it is none (not ASCII digits, or too large)."""
    text = str(raw).strip() if raw is not None else ""
    if not (text.isascii() and text.isdigit()):
        return 0
    value = int(text)
    return value if value <= MAX_ID else 0
