"""Canonical JSON, SHA-256 and link hashes, without Django: used by the chains in the
database (``kanat.records.chain``) and by ``verify-package`` on a machine with no database."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

ZERO = "0" * 64
# the fields of a link that its hash covers, as they appear in a link's header
HASHED = (
    "chain",
    "seq",
    "kind",
    "subject",
    "content_sha256",
    "signer",
    "signer_label",
    "qualification_ref",
    "signed_at",
    "prev_hash",
)


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no spaces, UTF-8: the same bytes for the same content everywhere."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sha256(value: Any) -> str:
    return hashlib.sha256(canonical_json(value)).hexdigest()


def instant(value: dt.datetime | None) -> str | None:
    """A UTC instant as text, to the microsecond."""
    if value is None:
        return None
    return value.astimezone(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def header_hash(header: dict[str, Any]) -> str:
    """A link's hash from its header (``HASHED`` fields; ``subject`` as ``label:id``)."""
    return sha256({k: header[k] for k in HASHED})
