from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models import Q

from kanat.core.roles import HUB_ROLES, OPERATOR_ROLES, Role
from kanat.core.tenancy import TenantManager, TenantQuerySet


class AppendOnly(models.Model):
    """Rows that are written once: the app refuses to update or delete them (a correction
    is a new row). Signed records are refused by PostgreSQL itself too (records 0002)."""

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not self._state.adding:
            raise PermissionError(f"{self._meta.label} rows are append-only: record a correction")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise PermissionError(f"{self._meta.label} rows are append-only: record a correction")


class Hub(models.Model):
    """The hub organisation that runs this installation (one row)."""

    code = models.CharField(max_length=20, unique=True)
    name = models.CharField(max_length=200)
    is_demo = models.BooleanField(
        default=False, help_text="Set by `kanat demo`: demo users exist only in demo databases."
    )

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(id=1), name="hub_single_row")]

    def __str__(self) -> str:
        return self.name


class Operator(models.Model):
    """A tenant: a country's air arm or a partner whose fleet the hub maintains."""

    TENANT_PATH = "id"

    code = models.CharField(max_length=20, unique=True)
    name = models.CharField(max_length=200)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166 alpha-2")

    objects = TenantManager()

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class KanatUserManager(UserManager.from_queryset(TenantQuerySet)):  # type: ignore[misc]
    def create_superuser(  # type: ignore[override]
        self, username: str, email: str | None = None, password: str | None = None, **extra: Any
    ) -> User:
        """`kanat createsuperuser`: a hub administrator, made by the service (audited)."""
        from kanat.core import services
        from kanat.core.roles import Role

        role = extra.pop("role", Role.HUB_ADMIN) or Role.HUB_ADMIN
        if role != Role.HUB_ADMIN:
            raise ValueError(f"a superuser is a hub administrator (role hub_admin), not {role}")
        return services.create_user(
            actor=None,
            username=username,
            password=password,
            role=Role.HUB_ADMIN,
            email=email or "",
        )


class User(AbstractUser):
    """A person with a login. Belongs to the hub (operator null) or to one operator."""

    TENANT_PATH = "operator"
    REQUIRED_FIELDS = ["email", "role"]

    operator = models.ForeignKey(
        Operator, null=True, blank=True, on_delete=models.PROTECT, related_name="users"
    )
    role = models.CharField(max_length=32, choices=Role.choices)

    objects = KanatUserManager()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(operator__isnull=True, role__in=sorted(HUB_ROLES))
                    | Q(operator__isnull=False, role__in=sorted(OPERATOR_ROLES))
                ),
                name="user_role_matches_organisation",
                violation_error_message=(
                    "Hub staff take a hub role; operator staff take an operator role."
                ),
            )
        ]

    @property
    def is_hub_staff(self) -> bool:
        return self.operator_id is None

    @property
    def organisation_label(self) -> str:
        return self.operator.code if self.operator_id else "hub"


class AuditEvent(models.Model):
    """Who changed what, when, with the state before and after. Written by services only,
    inside the transaction of the change it records."""

    TENANT_PATH = "operator"

    at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT)
    actor_label = models.CharField(max_length=150, help_text="username, or system:<command>")
    action = models.CharField(max_length=80, db_index=True)
    model = models.CharField(max_length=80)
    object_id = models.CharField(max_length=64)
    object_repr = models.CharField(max_length=200)
    operator = models.ForeignKey(
        Operator, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)

    objects = TenantManager()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["model", "object_id"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.object_repr}"
