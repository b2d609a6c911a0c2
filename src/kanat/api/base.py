"""Shared pieces of the REST API: restricted querysets, error mapping."""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions, serializers, status, viewsets
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from kanat.core.errors import Conflict, NoAuthority, NotAllowed, RuleViolation


class RestrictedViewSetMixin:
    """Every queryset of the API goes through ``restrict(user)``: another operator's
    object is a 404."""

    queryset_base: Any = None
    request: Any

    def get_queryset(self) -> Any:
        return self.queryset_base.restrict(self.request.user)


class RestrictedReadOnlyViewSet(RestrictedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    pass


class RestrictedPrimaryKeyRelatedField(serializers.PrimaryKeyRelatedField):
    """A reference to another object that the caller may see (else 'does not exist')."""

    def get_queryset(self) -> Any:
        request = self.context.get("request")
        return super().get_queryset().restrict(request.user if request else None)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """Service errors as clear responses: a broken rule is 400 naming the field, a change
    someone made first 409, a signature the signer's authority does not cover 403 with
    every reason (``detail``), a role that may not act 403."""
    if isinstance(exc, NoAuthority):
        body = {"detail": exc.message}
        if exc.field:
            body["field"] = exc.field
        return Response(body, status=status.HTTP_403_FORBIDDEN)
    if isinstance(exc, Conflict):
        body = {"detail": exc.message}
        if exc.field:
            body["field"] = exc.field
        return Response(body, status=status.HTTP_409_CONFLICT)
    if isinstance(exc, RuleViolation):
        body = {"detail": exc.message}
        if exc.field:
            body["field"] = exc.field
        return Response(body, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, NotAllowed):
        exc = exceptions.PermissionDenied(str(exc))
    return drf_exception_handler(exc, context)
