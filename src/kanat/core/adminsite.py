"""The admin site: hub administrators only. A signed-in user without admin rights gets
403 (not a redirect to a second login form)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse


class KanatAdminSite(admin.AdminSite):
    site_header = "Kanat administration"
    site_title = "Kanat admin"
    index_title = "Hub administration (domain records are read-only here)"

    def admin_view(self, view: Callable[..., HttpResponse], cacheable: bool = False) -> Any:
        inner = super().admin_view(view, cacheable)

        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            user = request.user
            if user.is_authenticated and not self.has_permission(request):
                raise PermissionDenied("The admin is for hub administrators.")
            return inner(request, *args, **kwargs)

        guarded.__dict__.update(inner.__dict__)
        return guarded

    def login(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        if request.user.is_authenticated and not self.has_permission(request):
            raise PermissionDenied("The admin is for hub administrators.")
        return super().login(request, extra_context)

    def catch_all_view(self, request: HttpRequest, url: str) -> HttpResponse:
        if request.user.is_authenticated and not self.has_permission(request):
            raise PermissionDenied("The admin is for hub administrators.")
        return super().catch_all_view(request, url)


class KanatAdminConfig(AdminConfig):
    default_site = "kanat.core.adminsite.KanatAdminSite"
