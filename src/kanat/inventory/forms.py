"""Forms of the stores pages. They only read input: every change goes through
``kanat.inventory.services``, whose errors (``RuleViolation`` and its kinds, each naming
its ``field``) the views put back on these forms. Choices are what the user may see
(``restrict(user)``); quantities are passed as typed so the service judges them."""

from __future__ import annotations

from typing import Any

from django import forms

from kanat.core.errors import RuleViolation
from kanat.inventory.models import (
    PurchaseOrder,
    PurchaseOrderLine,
    StockLocation,
    StockStatus,
    Supplier,
)

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
#: a status change offers these (scrapping has its own form, with its reason)
STATUS_CHOICES = [
    (s.value, s.label)
    for s in (StockStatus.SERVICEABLE, StockStatus.UNSERVICEABLE, StockStatus.QUARANTINE)
]
#: blank receipt rows on a purchase order's receive form (one delivery, one post)
RECEIPT_ROWS = 4


class ServiceErrorMixin:
    """Put a service's error on the form: on its field when the form has one, else on the
    form as a whole."""

    def add_service_error(self, exc: RuleViolation, field: str | None = None) -> None:
        name = field if field is not None else exc.field
        self.add_error(name if name in self.fields else None, exc.message)  # type: ignore[attr-defined]


def locations(user: Any) -> Any:
    """The open locations the user may see, for a drop-down."""
    return StockLocation.objects.restrict(user).filter(active=True).order_by("code")


class LocationChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: StockLocation) -> str:
        return f"{obj.code} — {obj.name}"


# --- receiving against a purchase order --------------------------------------------------


class DeliveryForm(ServiceErrorMixin, forms.Form):
    delivery_ref = forms.CharField(
        label="Delivery note", max_length=80, required=False, help_text="the supplier's reference"
    )
    location = LocationChoice(queryset=StockLocation.objects.none(), label="Into location")

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["location"].queryset = locations(user)  # type: ignore[attr-defined]


class LineChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: PurchaseOrderLine) -> str:
        return (
            f"line {obj.line}: {obj.part_number.pn} ({obj.part_number.tracking}), "
            f"{obj.outstanding.normalize():f} outstanding"
        )


class ReceiptRowForm(ServiceErrorMixin, forms.Form):
    """One thing on the delivery: a serial, or a batch and its quantity. A row left with
    no line chosen is not part of the delivery."""

    line = LineChoice(queryset=PurchaseOrderLine.objects.none(), required=False)
    quantity = forms.CharField(max_length=20, required=False, initial="1")
    serial = forms.CharField(max_length=60, required=False)
    batch = forms.CharField(max_length=60, required=False)
    certificate_ref = forms.CharField(
        label="Certificate of conformity", max_length=120, required=False
    )
    expires_on = forms.DateField(label="Expires", required=False, widget=DATE_WIDGET)

    def __init__(self, *args: Any, order: PurchaseOrder, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["line"].queryset = (  # type: ignore[attr-defined]
            PurchaseOrderLine.objects.restrict(user)
            .filter(order=order)
            .select_related("part_number")
            .order_by("line")
        )


class BaseReceiptRows(forms.BaseFormSet):
    def rows(self) -> list[tuple[int, dict[str, Any]]]:
        """(row index, cleaned data) of the rows naming a line."""
        return [
            (i, form.cleaned_data)
            for i, form in enumerate(self.forms)
            if form.cleaned_data.get("line") is not None
        ]


ReceiptRows = forms.formset_factory(
    ReceiptRowForm, formset=BaseReceiptRows, extra=RECEIPT_ROWS, max_num=50, validate_max=True
)


# --- one stock item ---------------------------------------------------------------------


class TransferForm(ServiceErrorMixin, forms.Form):
    to_location = LocationChoice(queryset=StockLocation.objects.none(), label="To location")
    quantity = forms.CharField(
        max_length=20, required=False, help_text="empty: all of it (a serial moves whole)"
    )
    reference = forms.CharField(max_length=80, required=False)

    def __init__(self, *args: Any, user: Any, exclude: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        qs = locations(user)
        if exclude is not None:
            qs = qs.exclude(pk=exclude)
        self.fields["to_location"].queryset = qs  # type: ignore[attr-defined]


class StatusForm(ServiceErrorMixin, forms.Form):
    status = forms.ChoiceField(choices=STATUS_CHOICES)
    reason = forms.CharField(max_length=200, required=False)


class ScrapForm(ServiceErrorMixin, forms.Form):
    reason = forms.CharField(max_length=200, required=False)  # the service says it is needed


class SupplierChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Supplier) -> str:
        return f"{obj.code} — {obj.name}"


class RepairOutForm(ServiceErrorMixin, forms.Form):
    supplier = SupplierChoice(queryset=Supplier.objects.none(), label="Repair shop")
    repair_order = forms.CharField(label="Repair order", max_length=80, required=False)

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["supplier"].queryset = (  # type: ignore[attr-defined]
            Supplier.objects.restrict(user).filter(repairs=True).order_by("code")
        )


class RepairInForm(ServiceErrorMixin, forms.Form):
    location = LocationChoice(queryset=StockLocation.objects.none(), label="Into location")
    status = forms.ChoiceField(choices=STATUS_CHOICES, label="Comes back")
    certificate_ref = forms.CharField(
        label="Release certificate", max_length=120, required=False, help_text="when serviceable"
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["location"].queryset = locations(user)  # type: ignore[attr-defined]


# --- a part taken off an aircraft (the task card's "to stores") ---------------------------

#: what a part taken off an aircraft may come back as (``services.RETURN_STATUSES``)
RETURN_CHOICES = [
    (s.value, s.label)
    for s in (StockStatus.UNSERVICEABLE, StockStatus.QUARANTINE, StockStatus.SERVICEABLE)
]


class ToStoresForm(ServiceErrorMixin, forms.Form):
    location = LocationChoice(queryset=StockLocation.objects.none(), label="Into location")
    status = forms.ChoiceField(choices=RETURN_CHOICES, initial=StockStatus.UNSERVICEABLE)

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["location"].queryset = locations(user)  # type: ignore[attr-defined]
