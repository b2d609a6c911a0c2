"""Tenancy: one ``restrict(user)`` on every domain queryset.

Each tenant-scoped model names the path from itself to its operator in
``TENANT_PATH`` (``"operator"``, ``"aircraft__operator"``...). Reference data
shared by every operator (types, variants, part numbers) sets it to ``None``.
Hub staff (users without an operator) see everything; operator staff see the
rows whose path leads to their operator; anonymous users see nothing.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.http import Http404


class TenantQuerySet(models.QuerySet):
    def restrict(self, user: Any) -> TenantQuerySet:
        if user is None or not user.is_authenticated or not user.is_active:
            return self.none()
        if user.operator_id is None:
            return self
        path = self.model.TENANT_PATH
        if path is None:
            return self
        return self.filter(**{path: user.operator_id})


TenantManager = models.Manager.from_queryset(TenantQuerySet)


class AppendOnlyQuerySet(TenantQuerySet):
    """Rows written once: bulk updates and deletes are refused like single ones
    (``kanat.core.models.AppendOnly``); a correction is a new row."""

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        raise PermissionError(f"{self.model._meta.label} rows are append-only: record a correction")

    update = _refuse
    delete = _refuse  # type: ignore[assignment]
    bulk_update = _refuse
    update_or_create = _refuse


AppendOnlyManager = models.Manager.from_queryset(AppendOnlyQuerySet)


def get_restricted_or_404(queryset: models.QuerySet, user: Any, **lookup: Any) -> Any:
    """The one object the user may see, or 404 (never 403: existence is not disclosed)."""
    try:
        return queryset.restrict(user).get(**lookup)
    except (queryset.model.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404(f"No {queryset.model._meta.verbose_name} matches the given query.") from exc
