"""Forms of the training pages. They only read input: every change goes through
``kanat.training.services``, whose errors (``RuleViolation`` and its kinds, each naming its
``field``) the views put back on these forms. Choices are what the user may see
(``restrict(user)``); numbers the service judges are passed as typed."""

from __future__ import annotations

from typing import Any

from django import forms

from kanat.core.errors import RuleViolation
from kanat.core.models import User
from kanat.fleet.models import AircraftType
from kanat.training.models import (
    Assessment,
    Course,
    CourseKind,
    Element,
    Enrolment,
    Provider,
)

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class ServiceErrorMixin:
    """Put a service's error on the form: on its field when the form has one, else on the
    form as a whole."""

    def add_service_error(self, exc: RuleViolation) -> None:
        name = exc.field
        self.add_error(name if name in self.fields else None, exc.message)  # type: ignore[attr-defined]


def hub_staff(user: Any) -> Any:
    """Active hub staff the user may see: who the hub trains."""
    return (
        User.objects.restrict(user)
        .filter(is_active=True, operator__isnull=True)
        .order_by("username")
    )


class PersonChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: User) -> str:
        name = obj.get_full_name()
        return f"{obj.get_username()} — {name}" if name else obj.get_username()


class CourseChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Course) -> str:
        return f"{obj.code} — {obj.title}"


class CourseForm(ServiceErrorMixin, forms.Form):
    code = forms.CharField(max_length=30)
    title = forms.CharField(max_length=200)
    kind = forms.ChoiceField(choices=CourseKind.choices)
    provider = forms.ChoiceField(choices=Provider.choices)
    aircraft_type = forms.ModelChoiceField(
        queryset=AircraftType.objects.none(), required=False, help_text="type training names it"
    )
    ata_chapters = forms.CharField(
        label="ATA chapters",
        max_length=200,
        required=False,
        help_text="comma-separated, e.g. 61, 71",
    )
    theory_hours = forms.CharField(max_length=10, required=False, initial="0")
    practical_hours = forms.CharField(max_length=10, required=False, initial="0")
    pass_mark = forms.IntegerField(initial=75)
    validity_months = forms.IntegerField(required=False, help_text="empty: does not expire")
    renews = CourseChoice(
        queryset=Course.objects.none(), required=False, help_text="a recurrent course"
    )
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["aircraft_type"].queryset = AircraftType.objects.restrict(user).order_by(  # type: ignore[attr-defined]
            "code"
        )
        self.fields["renews"].queryset = Course.objects.restrict(user).filter(  # type: ignore[attr-defined]
            renews__isnull=True
        )

    def service_kwargs(self) -> dict[str, Any]:
        d = self.cleaned_data
        return {
            "code": d["code"],
            "title": d["title"],
            "kind": d["kind"],
            "provider": d["provider"],
            "aircraft_type": d["aircraft_type"],
            "ata_chapters": [c.strip() for c in d["ata_chapters"].split(",") if c.strip()],
            "theory_hours": d["theory_hours"].strip() or "0",
            "practical_hours": d["practical_hours"].strip() or "0",
            "pass_mark": d["pass_mark"],
            "validity_months": d["validity_months"],
            "renews": d["renews"],
            "description": d["description"],
        }


class SessionForm(ServiceErrorMixin, forms.Form):
    code = forms.CharField(max_length=40)
    starts_on = forms.DateField(widget=DATE_WIDGET)
    ends_on = forms.DateField(widget=DATE_WIDGET)
    location = forms.CharField(max_length=200)
    instructor = forms.CharField(max_length=200)
    capacity = forms.IntegerField(initial=12)


class ReasonForm(ServiceErrorMixin, forms.Form):
    reason = forms.CharField(max_length=500)


class EnrolForm(ServiceErrorMixin, forms.Form):
    person = PersonChoice(queryset=User.objects.none())

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["person"].queryset = hub_staff(user)  # type: ignore[attr-defined]


class EnrolmentChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Enrolment) -> str:
        return obj.person.get_username()


class _OnEnrolment(ServiceErrorMixin, forms.Form):
    """A form acting on one of the session's enrolments still on it."""

    enrolment = EnrolmentChoice(queryset=Enrolment.objects.none())

    def __init__(self, *args: Any, enrolments: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["enrolment"].queryset = enrolments  # type: ignore[attr-defined]


class WithdrawForm(_OnEnrolment):
    reason = forms.CharField(max_length=500)


class AttendanceForm(_OnEnrolment):
    day = forms.DateField(widget=DATE_WIDGET)
    hours = forms.CharField(max_length=10)


class CertificateForm(_OnEnrolment):
    pass


class AssessmentChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Assessment) -> str:
        return f"{obj.enrolment.person.get_username()}: {obj.element} {obj.score}%"


class AssessmentForm(_OnEnrolment):
    element = forms.ChoiceField(choices=Element.choices)
    score = forms.IntegerField()
    remark = forms.CharField(max_length=1000, required=False)
    corrects = AssessmentChoice(
        queryset=Assessment.objects.none(), required=False, help_text="a result to correct"
    )
    correction_reason = forms.CharField(max_length=500, required=False)

    def __init__(self, *args: Any, enrolments: Any, standing: Any, **kwargs: Any) -> None:
        super().__init__(*args, enrolments=enrolments, **kwargs)
        self.fields["corrects"].queryset = standing  # type: ignore[attr-defined]


class GrantForm(ServiceErrorMixin, forms.Form):
    note = forms.CharField(max_length=1000, required=False)


class GrantWithdrawForm(ServiceErrorMixin, forms.Form):
    reason = forms.CharField(max_length=500)
