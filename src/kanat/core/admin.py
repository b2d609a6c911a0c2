"""The Django admin, for hub administrators only.

Domain rows are read-only here: every change goes through the services (and their
audit events). Users are managed here, through ``kanat.core.services``.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group
from django.http import HttpRequest
from rest_framework.authtoken.models import TokenProxy

from kanat.core import services
from kanat.core.models import AuditEvent, Hub, Operator, User

admin.site.unregister(Group)  # roles, not groups, say who may do what
admin.site.unregister(TokenProxy)  # API tokens: `kanat drf_create_token USER`


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["at", "actor_label", "action", "object_repr", "operator"]
    list_filter = ["action", "operator"]
    search_fields = ["object_repr", "actor_label", "action"]


@admin.register(Operator)
class OperatorAdmin(ReadOnlyAdmin):
    """Operators are added here (through the service); they are not edited or deleted."""

    list_display = ["code", "name", "country"]
    fields = ["code", "name", "country"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.is_active and request.user.is_staff)

    def save_model(self, request: HttpRequest, obj: Operator, form: Any, change: bool) -> None:
        created = services.create_operator(
            actor=request.user, code=obj.code, name=obj.name, country=obj.country
        )
        obj.pk = created.pk


@admin.register(Hub)
class HubAdmin(ReadOnlyAdmin):
    list_display = ["code", "name", "is_demo"]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "role", "operator", "is_active", "last_login"]
    list_filter = ["role", "operator", "is_active"]
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        ("Person", {"fields": ("first_name", "last_name", "email")}),
        ("Organisation and role", {"fields": ("operator", "role", "is_active")}),
    )
    add_fieldsets = (
        (None, {"fields": ("username", "password1", "password2", "operator", "role")}),
    )

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # deactivate instead: audit events refer to their actors

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:
        if change:
            fields = {"email", "first_name", "last_name", "role", "operator", "is_active"}
            changes = {f: getattr(obj, f) for f in fields & set(form.changed_data)}
            services.update_user(actor=request.user, user=obj, **changes)
        else:
            created = services.create_user(
                actor=request.user,
                username=obj.username,
                password=form.cleaned_data.get("password1"),
                role=obj.role,
                operator=obj.operator,
            )
            obj.pk = created.pk
