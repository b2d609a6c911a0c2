"""Write path for the hub, operators and users. Every change writes its audit event."""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.utils import timezone

from kanat.core import audit
from kanat.core.errors import NotAllowed, RuleViolation
from kanat.core.models import Hub, Operator, User
from kanat.core.roles import HUB_ROLES, OPERATOR_ROLES, Capability, Role, role_allows


def require(actor: User | None, capability: str) -> None:
    """Refuse unless the actor's role carries the capability. ``None`` is the system
    itself (management commands run by the host's administrator)."""
    if actor is None:
        return
    if not actor.is_active or not role_allows(actor.role, capability):
        label = Capability(capability).label if capability in Capability.values else capability
        raise NotAllowed(f"{actor.get_username()} ({actor.get_role_display()}) may not: {label}")


CLOCK_SKEW = dt.timedelta(minutes=5)  # a tablet's clock a little ahead is not "the future"


def at_or_now(value: dt.datetime | None, field: str = "at", *, future: bool = False) -> dt.datetime:
    """The instant a service records (in UTC): ``value``, or now when None. Refused: an
    instant without a time zone offset, and one in the future unless ``future`` (planned
    dates)."""
    if value is None:
        return timezone.now()
    if value.tzinfo is None or value.utcoffset() is None:
        raise RuleViolation(f"{field} {value.isoformat()} has no time zone offset", field=field)
    if not future and value > timezone.now() + CLOCK_SKEW:
        raise RuleViolation(
            f"{field.replace('_', ' ')} {value.astimezone(dt.UTC):%Y-%m-%d %H:%M} UTC "
            "is in the future",
            field=field,
        )
    return value.astimezone(dt.UTC)


@transaction.atomic
def ensure_hub(*, actor: User | None, code: str, name: str, is_demo: bool = False) -> Hub:
    hub = Hub.objects.filter(pk=1).first()
    if hub is not None:
        return hub
    hub = Hub.objects.create(pk=1, code=code, name=name, is_demo=is_demo)
    audit.record(actor=actor, action="core.create_hub", instance=hub, via="setup")
    return hub


@transaction.atomic
def create_operator(*, actor: User | None, code: str, name: str, country: str = "") -> Operator:
    require(actor, Capability.MANAGE_USERS)
    code = code.strip()
    if not code:
        raise RuleViolation("an operator needs a code", field="code")
    if Operator.objects.filter(code=code).exists():
        raise RuleViolation(f"operator {code} already exists", field="code")
    operator = Operator.objects.create(code=code, name=name.strip(), country=country.upper())
    audit.record(actor=actor, action="core.create_operator", instance=operator, operator=operator)
    return operator


def _check_role(role: str, operator: Operator | None) -> None:
    if role not in Role.values:
        raise RuleViolation(f"unknown role {role!r}", field="role")
    if operator is None and role not in HUB_ROLES:
        raise RuleViolation(f"{role} is an operator role: name the operator", field="role")
    if operator is not None and role not in OPERATOR_ROLES:
        raise RuleViolation(f"{role} is a hub role: hub staff have no operator", field="role")


@transaction.atomic
def create_user(
    *,
    actor: User | None,
    username: str,
    password: str | None,
    role: str,
    operator: Operator | None = None,
    email: str = "",
    first_name: str = "",
    last_name: str = "",
) -> User:
    require(actor, Capability.MANAGE_USERS)
    _check_role(role, operator)
    user = User(
        username=username,
        email=email,
        first_name=first_name,
        last_name=last_name,
        role=role,
        operator=operator,
        is_staff=role == Role.HUB_ADMIN,
        is_superuser=role == Role.HUB_ADMIN,
    )
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as exc:
        raise RuleViolation(f"user {username} already exists", field="username") from exc
    after = audit.snapshot(user)
    after.pop("password", None)
    audit.record(
        actor=actor, action="core.create_user", instance=user, operator=operator, after=after
    )
    return user


@transaction.atomic
def update_user(*, actor: User | None, user: User, **changes: object) -> User:
    """Change a user's profile, role or organisation (the admin calls this)."""
    require(actor, Capability.MANAGE_USERS)
    allowed = {"email", "first_name", "last_name", "role", "operator", "is_active"}
    unknown = set(changes) - allowed
    if unknown:
        raise RuleViolation(f"cannot change {', '.join(sorted(unknown))} here")
    locked = User.objects.select_for_update().get(pk=user.pk)
    before = audit.snapshot(locked)
    for key, value in changes.items():
        setattr(locked, key, value)
    _check_role(locked.role, locked.operator)
    locked.is_staff = locked.is_superuser = locked.role == Role.HUB_ADMIN
    locked.save()
    after = audit.snapshot(locked)
    for snap in (before, after):
        snap.pop("password", None)
    audit.record(
        actor=actor,
        action="core.update_user",
        instance=locked,
        operator=locked.operator_id,
        before=before,
        after=after,
    )
    return locked


@transaction.atomic
def set_password(*, actor: User | None, user: User, password: str) -> None:
    if actor is not None and actor.pk != user.pk:
        require(actor, Capability.MANAGE_USERS)
    user.set_password(password)
    user.save(update_fields=["password"])
    audit.record(
        actor=actor,
        action="core.set_password",
        instance=user,
        operator=user.operator_id,
        after={"password": "changed"},
    )
