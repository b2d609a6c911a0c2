"""The hash chains of signed records (compliance, sign-offs, release, defect closure).

Every signed record gets one ``ChainLink`` in the chain of the operator it belongs to (the
hub's own records: chain ``hub``), written by ``kanat.records.chain.sign`` in the same
transaction as the record. A link binds the signer, their qualification reference, the UTC
instant and the SHA-256 of the record's canonical content, and the hash of the link before
it; ``kanat records verify`` recomputes all of it from the tables.

Links are append-only: the app refuses to change them, and on PostgreSQL so does the
database (a trigger; migration 0002).
"""

from __future__ import annotations

from django.db import models

from kanat.core.models import AppendOnly, Operator, User
from kanat.core.tenancy import AppendOnlyManager, TenantManager


class ChainHead(models.Model):
    """The last link of one chain: locked while a link is appended (one writer at a time)."""

    TENANT_PATH = "operator"

    chain = models.CharField(max_length=20, primary_key=True)
    operator = models.ForeignKey(Operator, null=True, on_delete=models.PROTECT, related_name="+")
    seq = models.PositiveBigIntegerField(default=0)
    hash = models.CharField(max_length=64, default="0" * 64)

    objects = TenantManager()

    def __str__(self) -> str:
        return f"chain {self.chain} at #{self.seq}"


class ChainLink(AppendOnly):
    TENANT_PATH = "operator"

    chain = models.CharField(max_length=20)
    seq = models.PositiveBigIntegerField()
    operator = models.ForeignKey(Operator, null=True, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=40)
    subject_model = models.CharField(max_length=80)
    subject_id = models.BigIntegerField()
    content_sha256 = models.CharField(max_length=64)
    signer = models.ForeignKey(User, null=True, on_delete=models.PROTECT, related_name="+")
    signer_label = models.CharField(max_length=150)
    qualification_ref = models.CharField(max_length=300, blank=True)
    signed_at = models.DateTimeField()
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    objects = AppendOnlyManager()

    class Meta:
        ordering = ["chain", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["chain", "seq"], name="chainlink_seq"),
            models.UniqueConstraint(
                fields=["subject_model", "subject_id"], name="chainlink_one_per_record"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.chain} #{self.seq} ({self.subject_model} {self.subject_id})"
