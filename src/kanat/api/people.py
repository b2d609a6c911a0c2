"""Qualifications and authorisations under /api/ (read-only: they are recorded through the
people services by the hub administrator and quality). Operators see their own staff's."""

from __future__ import annotations

from rest_framework import serializers

from kanat.api.base import RestrictedReadOnlyViewSet
from kanat.people.models import Authorisation, Qualification


class QualificationSerializer(serializers.ModelSerializer[Qualification]):
    holder = serializers.CharField(source="holder.username", read_only=True)
    aircraft_types = serializers.SlugRelatedField(many=True, read_only=True, slug_field="code")

    class Meta:
        model = Qualification
        fields = [
            "id",
            "holder",
            "category",
            "reference",
            "issuing_authority",
            "aircraft_types",
            "ata_chapters",
            "issued_on",
            "expires_on",
            "withdrawn_at",
            "withdrawal_reason",
        ]


class AuthorisationSerializer(serializers.ModelSerializer[Authorisation]):
    holder = serializers.CharField(source="holder.username", read_only=True)
    aircraft_types = serializers.SlugRelatedField(many=True, read_only=True, slug_field="code")
    issued_by = serializers.CharField(source="issued_by.username", default=None, read_only=True)

    class Meta:
        model = Authorisation
        fields = [
            "id",
            "number",
            "holder",
            "qualification",
            "privileges",
            "aircraft_types",
            "ata_chapters",
            "valid_from",
            "valid_until",
            "issued_by",
            "withdrawn_at",
            "withdrawal_reason",
        ]


class QualificationViewSet(RestrictedReadOnlyViewSet):
    serializer_class = QualificationSerializer
    queryset_base = Qualification.objects.select_related("holder").prefetch_related(
        "aircraft_types"
    )


class AuthorisationViewSet(RestrictedReadOnlyViewSet):
    serializer_class = AuthorisationSerializer
    queryset_base = Authorisation.objects.select_related("holder", "issued_by").prefetch_related(
        "aircraft_types"
    )
