"""Audit events, written by services inside the transaction of the change."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from typing import Any

from django.db import connection, models
from django.utils import timezone

from kanat.core.models import AuditEvent, Operator, User


def snapshot(instance: models.Model) -> dict[str, Any]:
    """The concrete field values of a row, JSON-safe (foreign keys as ids)."""
    data: dict[str, Any] = {}
    for field in instance._meta.concrete_fields:
        value = getattr(instance, field.attname)
        data[field.attname] = _json_safe(value)
    return data


def _json_safe(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    return value


def record(
    *,
    actor: User | None,
    action: str,
    instance: models.Model,
    operator: Operator | int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    via: str = "",
) -> AuditEvent:
    """Write one audit event. Must run inside the service's transaction."""
    if not connection.in_atomic_block:
        raise RuntimeError(f"audit event {action!r} written outside a transaction")
    operator_id = operator.pk if isinstance(operator, Operator) else operator
    label = actor.get_username() if actor is not None else f"system:{via or 'kanat'}"
    return AuditEvent.objects.create(
        at=timezone.now(),
        actor=actor,
        actor_label=label,
        action=action,
        model=instance._meta.label_lower,
        object_id=str(instance.pk),
        object_repr=str(instance)[:200],
        operator_id=operator_id,
        before=before,
        after=after if after is not None else snapshot(instance),
    )


def record_many(
    *,
    actor: User | None,
    action: str,
    instances: list[models.Model],
    operator: Operator | int | None = None,
    via: str = "",
) -> None:
    """One audit event per created row, written in bulk (same transaction rule)."""
    if not connection.in_atomic_block:
        raise RuntimeError(f"audit events {action!r} written outside a transaction")
    operator_id = operator.pk if isinstance(operator, Operator) else operator
    label = actor.get_username() if actor is not None else f"system:{via or 'kanat'}"
    now = timezone.now()
    AuditEvent.objects.bulk_create(
        [
            AuditEvent(
                at=now,
                actor=actor,
                actor_label=label,
                action=action,
                model=obj._meta.label_lower,
                object_id=str(obj.pk),
                object_repr=str(obj)[:200],
                operator_id=operator_id,
                before=None,
                after=snapshot(obj),
            )
            for obj in instances
        ],
        batch_size=500,
    )
