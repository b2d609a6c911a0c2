from __future__ import annotations

from typing import Any

from django import forms

from kanat.fleet.models import Aircraft, AssetKind


class UploadForm(forms.Form):
    aircraft = forms.ModelChoiceField(queryset=Aircraft.objects.none())
    file = forms.FileField(help_text="ULog, DataFlash .bin/.log, .tlog or a flights CSV")

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["aircraft"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = (
            Aircraft.objects.restrict(user)
            .filter(variant__aircraft_type__kind=AssetKind.AIRCRAFT)
            .order_by("serial")
        )
