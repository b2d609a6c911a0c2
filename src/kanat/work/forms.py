"""Forms of the work pages. They only read input: every change goes through
``kanat.work.services``, whose errors the views put back on these forms."""

from __future__ import annotations

from typing import Any

from django import forms

from kanat.core.errors import RuleViolation
from kanat.core.models import User
from kanat.fleet.models import Aircraft, Part
from kanat.work.models import DefectSource, MelCategory
from kanat.work.services import CARD_REMOVAL_REASONS

DATETIME_WIDGET = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class ServiceErrorMixin:
    """Put a service's ``RuleViolation`` on the form: on its field when the form has one,
    else on the form as a whole."""

    def add_service_error(self, exc: RuleViolation) -> None:
        field = exc.field if exc.field in self.fields else None  # type: ignore[attr-defined]
        self.add_error(field, exc.message)  # type: ignore[attr-defined]


class PackageForm(ServiceErrorMixin, forms.Form):
    title = forms.CharField(max_length=200, required=False)  # the service says why
    planned_start = forms.DateField(required=False, widget=DATE_WIDGET)
    planned_end = forms.DateField(required=False, widget=DATE_WIDGET)


class ReleaseForm(ServiceErrorMixin, forms.Form):
    statement = forms.CharField(
        max_length=1000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Leave empty for the standard certificate of release to service.",
    )


class StepSignForm(ServiceErrorMixin, forms.Form):
    """One step's signature: the measured value, the removal reason, the installed part,
    as the step's kind needs."""

    value = forms.FloatField(required=False, widget=forms.NumberInput(attrs={"step": "any"}))
    removal_reason = forms.ChoiceField(
        required=False,
        choices=[("", "— why does it come off? —")]
        + [(r.value, r.label) for r in CARD_REMOVAL_REASONS],
    )
    part = forms.ModelChoiceField(required=False, queryset=Part.objects.none())
    remark = forms.CharField(required=False, max_length=1000)

    def __init__(self, *args: Any, parts: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["part"]
        assert isinstance(field, forms.ModelChoiceField)
        if parts is not None:
            field.queryset = parts


class SupervisedStepForm(StepSignForm):
    """A trainee's signature on a step performed under supervision: the step's values as
    the step form has them, and the supervisor who watched (who countersigns)."""

    supervisor = forms.ModelChoiceField(
        queryset=User.objects.none(),
        required=False,  # the service says why one is needed
        empty_label="— who supervises? —",
    )

    def __init__(self, *args: Any, supervisors: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["supervisor"]
        assert isinstance(field, forms.ModelChoiceField)
        if supervisors is not None:
            field.queryset = supervisors
        field.label_from_instance = lambda u: (  # type: ignore[method-assign]
            f"{u.get_full_name()} ({u.get_username()})" if u.get_full_name() else u.get_username()
        )

    def clean_supervisor(self) -> Any:
        supervisor = self.cleaned_data.get("supervisor")
        if supervisor is None:
            raise forms.ValidationError("name the supervisor who watches the work")
        return supervisor


class CountersignForm(ServiceErrorMixin, forms.Form):
    remark = forms.CharField(required=False, max_length=1000)


class DeclineForm(ServiceErrorMixin, forms.Form):
    reason = forms.CharField(required=False, max_length=500)  # the service says it is needed


class CorrectionForm(ServiceErrorMixin, forms.Form):
    """A correction of a step's sign-off: a new sign-off naming it, with the reason."""

    value = forms.FloatField(required=False, widget=forms.NumberInput(attrs={"step": "any"}))
    remark = forms.CharField(required=False, max_length=1000)
    correction_reason = forms.CharField(max_length=500, label="Reason for the correction")


class CardSignForm(ServiceErrorMixin, forms.Form):
    remark = forms.CharField(required=False, max_length=1000)


class DefectForm(ServiceErrorMixin, forms.Form):
    aircraft = forms.ModelChoiceField(queryset=Aircraft.objects.none())
    ata = forms.CharField(label="ATA", max_length=8, help_text="chapter, e.g. 32 or 32-11")
    description = forms.CharField(max_length=1000, widget=forms.Textarea(attrs={"rows": 3}))
    source = forms.ChoiceField(choices=DefectSource.choices, initial=DefectSource.INSPECTION)
    source_ref = forms.CharField(label="Source reference", required=False, max_length=200)
    found_at = forms.DateTimeField(
        label="Found at (UTC)", required=False, widget=DATETIME_WIDGET, help_text="empty: now"
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["aircraft"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = Aircraft.objects.restrict(user).order_by("serial")


class DeferForm(ServiceErrorMixin, forms.Form):
    # C (10 days) is the common case; A needs its own deadline and is chosen on purpose
    category = forms.ChoiceField(
        label="MEL category", choices=MelCategory.choices, initial=MelCategory.C
    )
    mel_item = forms.CharField(label="MEL item", max_length=40)
    reason = forms.CharField(max_length=1000, widget=forms.Textarea(attrs={"rows": 2}))
    deadline = forms.DateTimeField(
        label="Deadline (UTC)",
        required=False,
        widget=DATETIME_WIDGET,
        help_text="category A only: the MEL item's own limit",
    )
