"""Template helpers of the work pages, also used on the aircraft due page (its defects
with their deferral clocks, chosen for a new package beside the due items)."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils import timezone

from kanat.core.roles import role_allows

register = template.Library()


@register.filter
def may(user: Any, capability: str) -> bool:
    """``{% if user|may:"plan_work" %}``: whether the user's role carries the capability."""
    return bool(getattr(user, "is_authenticated", False)) and role_allows(user.role, capability)


@register.inclusion_tag("work/_aircraft_defects.html", takes_context=True)
def aircraft_defects(context: Any, aircraft: Any, selectable: bool = False) -> dict[str, Any]:
    """The aircraft's open and deferred defects with their clocks (the user's view of
    them), each a checkbox when ``selectable``."""
    from kanat.work.views import open_defects

    user = context["request"].user
    return {
        "aircraft": aircraft,
        "defects": open_defects(aircraft, user, timezone.now()),
        "selectable": selectable,
    }


@register.simple_tag(takes_context=True)
def items_on_cards(context: Any, aircraft: Any) -> dict[tuple[str, int | None], str]:
    """The aircraft's due items already on a card of a package not yet released:
    {(task code, part id or None): package number}."""
    from kanat.work.models import PackageStatus, TaskCard

    user = context["request"].user
    rows = (
        TaskCard.objects.restrict(user)
        .filter(package__aircraft=aircraft, task__isnull=False)
        .exclude(package__status=PackageStatus.RELEASED)
        .values_list("task__code", "part_id", "package__number")
    )
    return {(code, part): number for code, part, number in rows}


@register.filter
def on_card(row: Any, taken: Any) -> str:
    """The package a due row is already on (``items_on_cards``), or ''."""
    if not taken:
        return ""
    return str(taken.get((row.task_code, row.part_pk), ""))
