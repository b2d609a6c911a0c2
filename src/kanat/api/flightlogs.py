"""Flight logs under /api/: list, read (summary, flights, findings, plot series) and upload
(multipart; the same file again answers 200 with the existing log)."""

from __future__ import annotations

from typing import Any

from rest_framework import mixins, serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.viewsets import GenericViewSet

from kanat.api.base import RestrictedPrimaryKeyRelatedField, RestrictedViewSetMixin
from kanat.core.errors import RuleViolation
from kanat.fleet.models import Aircraft, Flight, FlightSource
from kanat.flightdata.models import Finding, FlightLog
from kanat.flightdata.services import import_flight_log


class FindingSerializer(serializers.ModelSerializer[Finding]):
    raised_task = serializers.CharField(source="raised.task.code", default=None, read_only=True)
    raised_due_by = serializers.DateField(source="raised.due_by", default=None, read_only=True)

    class Meta:
        model = Finding
        fields = [
            "id",
            "code",
            "message",
            "at",
            "t_s",
            "series",
            "sample",
            "value",
            "limit",
            "flight",
            "raised_task",
            "raised_due_by",
        ]


class FlightLogSerializer(serializers.ModelSerializer[FlightLog]):
    aircraft_serial = serializers.CharField(source="aircraft.serial", read_only=True)
    flights = serializers.SerializerMethodField()

    class Meta:
        model = FlightLog
        fields = [
            "id",
            "aircraft",
            "aircraft_serial",
            "name",
            "sha256",
            "size",
            "format",
            "vehicle_id",
            "started_at",
            "duration_s",
            "flight_rule",
            "imported_at",
            "flights",
        ]

    def get_flights(self, log: FlightLog) -> list[int]:
        """Ids of the flights this log recorded (under /api/flights/): from the page's one
        query when the view gave it, else for this log alone."""
        by_log = self.context.get("flights_by_log")
        if by_log is not None:
            return by_log.get(log.pk, [])
        return list(log.flights().order_by("takeoff").values_list("id", flat=True))


class FlightLogDetailSerializer(FlightLogSerializer):
    findings = FindingSerializer(many=True, read_only=True)

    class Meta(FlightLogSerializer.Meta):
        fields = [*FlightLogSerializer.Meta.fields, "summary", "findings", "plot"]


class UploadSerializer(serializers.Serializer[Any]):
    aircraft = RestrictedPrimaryKeyRelatedField(queryset=Aircraft.objects.all())
    file = serializers.FileField()


class FlightLogViewSet(
    RestrictedViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, GenericViewSet
):
    """Imported flight logs. POST (multipart: ``aircraft`` id, ``file``) imports one: 201
    with the new log, 200 with the existing one when the same content was imported before;
    400 naming what is wrong with the file, 409 when its flights overlap recorded ones."""

    queryset_base = FlightLog.objects.select_related("aircraft")
    parser_classes = [MultiPartParser, FormParser]

    def get_queryset(self) -> Any:
        qs = super().get_queryset()
        return qs.prefetch_related("findings__raised__task") if self.action == "retrieve" else qs

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        logs = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        assert logs is not None  # the API always paginates
        # the page's flights in one query (they point at their log by source_ref)
        refs = {log.source_ref: log.pk for log in logs}
        by_log: dict[int, list[int]] = {}
        for pk, ref in (
            Flight.objects.restrict(request.user)
            .filter(source=FlightSource.LOG, source_ref__in=refs)
            .order_by("takeoff")
            .values_list("pk", "source_ref")
        ):
            by_log.setdefault(refs[ref], []).append(pk)
        context = {**self.get_serializer_context(), "flights_by_log": by_log}
        return self.get_paginated_response(
            FlightLogSerializer(logs, many=True, context=context).data
        )

    def get_serializer_class(self) -> Any:
        if self.action == "create":
            return UploadSerializer
        return FlightLogDetailSerializer if self.action == "retrieve" else FlightLogSerializer

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        upload = UploadSerializer(data=request.data, context={"request": request})
        upload.is_valid(raise_exception=True)
        f = upload.validated_data["file"]
        path = getattr(f, "temporary_file_path", None)
        if path is None:
            raise RuleViolation("the upload was not kept as a file", field="file")
        log, created = import_flight_log(
            actor=request.user,
            aircraft=upload.validated_data["aircraft"],
            path=path(),
            name=f.name,
        )
        body = FlightLogDetailSerializer(log, context={"request": request}).data
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)
