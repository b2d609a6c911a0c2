"""Training under /api/: the catalogue, sessions, enrolments, evidence, stages, grants,
logbooks, proposals and the transfer dashboard. Reads go through ``restrict(user)``; writes
call ``kanat.training.services``.

The training records are the hub's own (the hub trains its own staff; operator staff are
never trainees): hub staff read them, operator staff get 403 on every endpoint here, as on
the training pages and the production endpoints. Refusals are mapped by
``kanat.api.base.exception_handler`` (400 naming the field, 409 conflict, 403 role).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import DefaultRouter
from rest_framework.viewsets import GenericViewSet, ViewSet

from kanat.api.base import RestrictedPrimaryKeyRelatedField, RestrictedViewSetMixin
from kanat.api.production import IsHubStaff
from kanat.core.models import User
from kanat.fleet.models import AircraftType
from kanat.training import matrix, reminders, selectors, services
from kanat.training.models import (
    Assessment,
    Attendance,
    Certificate,
    Course,
    CourseKind,
    Element,
    Enrolment,
    Origin,
    Provider,
    Requirement,
    Session,
    Stage,
    StageGrant,
    Trainee,
)

# --- read serializers ------------------------------------------------------------------------


class CourseSerializer(serializers.ModelSerializer):
    aircraft_type_code = serializers.CharField(source="aircraft_type.code", default=None)
    renews_code = serializers.CharField(source="renews.code", default=None)

    class Meta:
        model = Course
        fields = [
            "id",
            "code",
            "title",
            "kind",
            "provider",
            "aircraft_type",
            "aircraft_type_code",
            "ata_chapters",
            "theory_hours",
            "practical_hours",
            "pass_mark",
            "validity_months",
            "renews",
            "renews_code",
            "description",
            "created_at",
        ]


class AttendanceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Attendance
        fields = ["id", "enrolment", "day", "hours", "recorded_by", "recorded_at"]


class AssessmentSerializer(serializers.ModelSerializer):
    corrected = serializers.SerializerMethodField()

    class Meta:
        model = Assessment
        fields = [
            "id",
            "enrolment",
            "element",
            "score",
            "passed",
            "assessor",
            "assessed_at",
            "remark",
            "corrects",
            "correction_reason",
            "corrected",
        ]

    def get_corrected(self, obj: Assessment) -> bool:
        """Whether a later result corrects this one (it no longer stands)."""
        return getattr(obj, "corrected_by", None) is not None


class CertificateSerializer(serializers.ModelSerializer):
    person_username = serializers.CharField(source="person.username")
    course_code = serializers.CharField(source="course.code")
    covers_code = serializers.CharField(source="covers.code")

    class Meta:
        model = Certificate
        fields = [
            "id",
            "number",
            "person",
            "person_username",
            "course",
            "course_code",
            "covers",
            "covers_code",
            "enrolment",
            "issued_on",
            "expires_on",
            "issued_by",
            "qualification",
            "created_at",
        ]


class EnrolmentSerializer(serializers.ModelSerializer):
    person_username = serializers.CharField(source="person.username")
    session_code = serializers.CharField(source="session.code")
    attendance = AttendanceSerializer(many=True, read_only=True)
    assessments = AssessmentSerializer(many=True, read_only=True)
    certificate = serializers.SerializerMethodField()

    class Meta:
        model = Enrolment
        fields = [
            "id",
            "session",
            "session_code",
            "person",
            "person_username",
            "enrolled_at",
            "enrolled_by",
            "withdrawn_at",
            "withdrawal_reason",
            "attendance",
            "assessments",
            "certificate",
        ]

    @extend_schema(responses=CertificateSerializer(allow_null=True))
    def get_certificate(self, obj: Enrolment) -> dict[str, Any] | None:
        cert = getattr(obj, "certificate", None)
        return CertificateSerializer(cert).data if cert is not None else None


class SessionEnrolmentSerializer(serializers.ModelSerializer):
    person_username = serializers.CharField(source="person.username")

    class Meta:
        model = Enrolment
        fields = ["id", "person", "person_username", "enrolled_at", "withdrawn_at"]


class SessionSerializer(serializers.ModelSerializer):
    course_code = serializers.CharField(source="course.code")
    enrolments = SessionEnrolmentSerializer(many=True, read_only=True)

    class Meta:
        model = Session
        fields = [
            "id",
            "code",
            "course",
            "course_code",
            "starts_on",
            "ends_on",
            "location",
            "instructor",
            "capacity",
            "cancelled_at",
            "cancel_reason",
            "created_at",
            "enrolments",
        ]


class TraineeSerializer(serializers.ModelSerializer):
    person_username = serializers.CharField(source="person.username")

    class Meta:
        model = Trainee
        fields = ["id", "person", "person_username", "origin", "joined_on", "created_at"]


class RequirementSerializer(serializers.ModelSerializer):
    label = serializers.CharField(source="__str__")

    class Meta:
        model = Requirement
        fields = [
            "id",
            "label",
            "stage",
            "role",
            "kind",
            "course",
            "ata_chapter",
            "min_steps",
            "qualification_category",
        ]


class StageSerializer(serializers.ModelSerializer):
    aircraft_type_code = serializers.CharField(source="aircraft_type.code")
    requirements = RequirementSerializer(many=True, read_only=True)

    class Meta:
        model = Stage
        fields = [
            "id",
            "code",
            "name",
            "aircraft_type",
            "aircraft_type_code",
            "rank",
            "supervised_work",
            "privileges",
            "ata_chapters",
            "description",
            "requirements",
        ]


class StageGrantSerializer(serializers.ModelSerializer):
    person_username = serializers.CharField(source="person.username")
    stage_code = serializers.CharField(source="stage.code")
    standing = serializers.SerializerMethodField()
    standing_reason = serializers.SerializerMethodField()
    withdrawn_at = serializers.DateTimeField(source="withdrawal.withdrawn_at", default=None)
    withdrawal_reason = serializers.CharField(source="withdrawal.reason", default=None)

    class Meta:
        model = StageGrant
        fields = [
            "id",
            "number",
            "person",
            "person_username",
            "stage",
            "stage_code",
            "granted_by",
            "granted_at",
            "evidence",
            "authorisation",
            "note",
            "standing",
            "standing_reason",
            "withdrawn_at",
            "withdrawal_reason",
        ]

    def _standing(self, obj: StageGrant) -> tuple[str, str]:
        cache = self.context.setdefault("standing", {})
        if obj.pk not in cache:
            at = self.context.get("at") or timezone.now()
            cache[obj.pk] = selectors.grant_standing(obj, at, self.context.get("certs"))
        return cache[obj.pk]

    def get_standing(self, obj: StageGrant) -> str:
        """in force, lapsed, withdrawn (now)."""
        return self._standing(obj)[0]

    def get_standing_reason(self, obj: StageGrant) -> str:
        return self._standing(obj)[1]


# --- request serializers ---------------------------------------------------------------------


def _course_field(**kw: Any) -> Any:
    return RestrictedPrimaryKeyRelatedField(queryset=Course.objects.all(), **kw)


def _person_field() -> Any:
    return RestrictedPrimaryKeyRelatedField(queryset=User.objects.all())


class CourseCreateSerializer(serializers.Serializer):
    code = serializers.CharField()
    title = serializers.CharField(allow_blank=True)
    kind = serializers.ChoiceField(choices=CourseKind.choices)
    provider = serializers.ChoiceField(choices=Provider.choices)
    theory_hours = serializers.DecimalField(max_digits=6, decimal_places=1, default=0)
    practical_hours = serializers.DecimalField(max_digits=6, decimal_places=1, default=0)
    aircraft_type = RestrictedPrimaryKeyRelatedField(
        queryset=AircraftType.objects.all(), required=False, allow_null=True, default=None
    )
    ata_chapters = serializers.ListField(
        child=serializers.CharField(), required=False, default=list
    )
    pass_mark = serializers.IntegerField(default=75)
    validity_months = serializers.IntegerField(required=False, allow_null=True, default=None)
    renews = _course_field(required=False, allow_null=True, default=None)
    description = serializers.CharField(required=False, allow_blank=True, default="")


class SessionCreateSerializer(serializers.Serializer):
    course = _course_field()
    code = serializers.CharField()
    starts_on = serializers.DateField()
    ends_on = serializers.DateField()
    location = serializers.CharField(allow_blank=True)
    instructor = serializers.CharField(allow_blank=True)
    capacity = serializers.IntegerField(default=12)


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(allow_blank=True)


class EnrolSerializer(serializers.Serializer):
    session = RestrictedPrimaryKeyRelatedField(queryset=Session.objects.all())
    person = _person_field()


class AttendanceCreateSerializer(serializers.Serializer):
    day = serializers.DateField()
    hours = serializers.DecimalField(max_digits=4, decimal_places=1)


class AssessmentCreateSerializer(serializers.Serializer):
    element = serializers.ChoiceField(choices=Element.choices)
    score = serializers.IntegerField()
    at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    remark = serializers.CharField(required=False, allow_blank=True, default="")
    corrects = RestrictedPrimaryKeyRelatedField(
        queryset=Assessment.objects.all(), required=False, allow_null=True, default=None
    )
    correction_reason = serializers.CharField(required=False, allow_blank=True, default="")


class CertificateRecordSerializer(serializers.Serializer):
    person = _person_field()
    course = _course_field()
    number = serializers.CharField(allow_blank=True)
    issued_on = serializers.DateField()
    expires_on = serializers.DateField(required=False, allow_null=True, default=None)


class TraineeCreateSerializer(serializers.Serializer):
    person = _person_field()
    origin = serializers.ChoiceField(choices=Origin.choices)
    joined_on = serializers.DateField()


class GrantCreateSerializer(serializers.Serializer):
    person = _person_field()
    stage = RestrictedPrimaryKeyRelatedField(queryset=Stage.objects.all())
    note = serializers.CharField(required=False, allow_blank=True, default="")


class EmptySerializer(serializers.Serializer):
    pass


# --- viewsets --------------------------------------------------------------------------------


class TrainingViewSet(
    RestrictedViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, GenericViewSet
):
    """Hub staff only (see the module docstring). ``request_serializers``: the body of each
    write, whose values go to the service."""

    permission_classes = [IsHubStaff]
    read_serializer: Any = None
    request_serializers: dict[str, Any] = {}

    def get_serializer_class(self) -> Any:
        return self.request_serializers.get(self.action, self.read_serializer)

    def _body(self, request: Request) -> dict[str, Any]:
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        return dict(body.validated_data)

    def _out(self, obj: Any, code: int = status.HTTP_200_OK) -> Response:
        fresh = self.get_queryset().get(pk=obj.pk)
        return Response(
            self.read_serializer(fresh, context=self.get_serializer_context()).data, status=code
        )


class CourseViewSet(TrainingViewSet):
    """The catalogue (filter by ``kind``, ``provider``, ``aircraft_type``); ``POST``
    creates a course."""

    queryset_base = Course.objects.select_related("aircraft_type", "renews").order_by("code")
    read_serializer = CourseSerializer
    request_serializers = {"create": CourseCreateSerializer}
    filterset_fields = ["kind", "provider", "aircraft_type"]

    @extend_schema(request=CourseCreateSerializer, responses={201: CourseSerializer})
    def create(self, request: Request) -> Response:
        course = services.create_course(actor=request.user, **self._body(request))
        return self._out(course, status.HTTP_201_CREATED)


class SessionViewSet(TrainingViewSet):
    """Sessions with their enrolments (filter by ``course``); ``POST`` schedules one;
    ``cancel`` cancels it with its reason."""

    queryset_base = (
        Session.objects.select_related("course")
        .prefetch_related(
            Prefetch("enrolments", queryset=Enrolment.objects.select_related("person"))
        )
        .order_by("-starts_on", "code")
    )
    read_serializer = SessionSerializer
    request_serializers = {"create": SessionCreateSerializer, "cancel": ReasonSerializer}
    filterset_fields = ["course"]

    @extend_schema(request=SessionCreateSerializer, responses={201: SessionSerializer})
    def create(self, request: Request) -> Response:
        session = services.schedule_session(actor=request.user, **self._body(request))
        return self._out(session, status.HTTP_201_CREATED)

    @extend_schema(request=ReasonSerializer, responses=SessionSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: Any = None) -> Response:
        session = services.cancel_session(
            actor=request.user, session=self.get_object(), **self._body(request)
        )
        return self._out(session)


class EnrolmentViewSet(TrainingViewSet):
    """Enrolments with their attendance, results and certificate (filter by ``session``,
    ``person``); ``POST`` enrols; the actions record attendance and results, issue the
    certificate and withdraw."""

    queryset_base = (
        Enrolment.objects.select_related("person", "session", "certificate__person")
        .select_related("certificate__course", "certificate__covers")
        .prefetch_related(
            "attendance",
            Prefetch("assessments", queryset=Assessment.objects.select_related("corrected_by")),
        )
        .order_by("session_id", "person__username")
    )
    read_serializer = EnrolmentSerializer
    request_serializers = {
        "create": EnrolSerializer,
        "attendance": AttendanceCreateSerializer,
        "assessment": AssessmentCreateSerializer,
        "certificate": EmptySerializer,
        "withdraw": ReasonSerializer,
    }
    filterset_fields = ["session", "person"]

    @extend_schema(request=EnrolSerializer, responses={201: EnrolmentSerializer})
    def create(self, request: Request) -> Response:
        enrolment = services.enrol(actor=request.user, **self._body(request))
        return self._out(enrolment, status.HTTP_201_CREATED)

    @extend_schema(request=AttendanceCreateSerializer, responses={201: AttendanceSerializer})
    @action(detail=True, methods=["post"])
    def attendance(self, request: Request, pk: Any = None) -> Response:
        row = services.record_attendance(
            actor=request.user, enrolment=self.get_object(), **self._body(request)
        )
        return Response(AttendanceSerializer(row).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=AssessmentCreateSerializer, responses={201: AssessmentSerializer})
    @action(detail=True, methods=["post"])
    def assessment(self, request: Request, pk: Any = None) -> Response:
        row = services.record_assessment(
            actor=request.user, enrolment=self.get_object(), **self._body(request)
        )
        return Response(AssessmentSerializer(row).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={201: CertificateSerializer})
    @action(detail=True, methods=["post"])
    def certificate(self, request: Request, pk: Any = None) -> Response:
        cert = services.issue_certificate(actor=request.user, enrolment=self.get_object())
        return Response(CertificateSerializer(cert).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ReasonSerializer, responses=EnrolmentSerializer)
    @action(detail=True, methods=["post"])
    def withdraw(self, request: Request, pk: Any = None) -> Response:
        enrolment = services.withdraw_enrolment(
            actor=request.user, enrolment=self.get_object(), **self._body(request)
        )
        return self._out(enrolment)


class AttendanceViewSet(TrainingViewSet):
    queryset_base = Attendance.objects.order_by("enrolment_id", "day")
    read_serializer = AttendanceSerializer
    filterset_fields = ["enrolment", "enrolment__session", "enrolment__person"]


class AssessmentViewSet(TrainingViewSet):
    queryset_base = Assessment.objects.select_related("corrected_by").order_by("assessed_at", "id")
    read_serializer = AssessmentSerializer
    filterset_fields = ["enrolment", "element", "passed", "enrolment__person"]


class CertificateViewSet(TrainingViewSet):
    """Certificates (filter by ``person``, ``course``, ``covers``); ``POST`` records one
    earned elsewhere (from the paper)."""

    queryset_base = Certificate.objects.select_related("person", "course", "covers").order_by(
        "issued_on", "id"
    )
    read_serializer = CertificateSerializer
    request_serializers = {"create": CertificateRecordSerializer}
    filterset_fields = ["person", "course", "covers"]

    @extend_schema(request=CertificateRecordSerializer, responses={201: CertificateSerializer})
    def create(self, request: Request) -> Response:
        cert = services.record_certificate(actor=request.user, **self._body(request))
        return self._out(cert, status.HTTP_201_CREATED)


class TraineeViewSet(TrainingViewSet):
    """People on the transfer's books; ``POST`` registers one."""

    queryset_base = Trainee.objects.select_related("person").order_by("person__username")
    read_serializer = TraineeSerializer
    request_serializers = {"create": TraineeCreateSerializer}
    filterset_fields = ["origin", "person"]

    @extend_schema(request=TraineeCreateSerializer, responses={201: TraineeSerializer})
    def create(self, request: Request) -> Response:
        trainee = services.register_trainee(actor=request.user, **self._body(request))
        return self._out(trainee, status.HTTP_201_CREATED)


class StageViewSet(TrainingViewSet):
    """Authorisation stages with the requirements of each."""

    queryset_base = (
        Stage.objects.select_related("aircraft_type")
        .prefetch_related(
            Prefetch("requirements", queryset=Requirement.objects.select_related("course"))
        )
        .order_by("aircraft_type_id", "rank")
    )
    read_serializer = StageSerializer
    filterset_fields = ["aircraft_type"]


class StageGrantViewSet(TrainingViewSet):
    """Stage grants with their standing now (filter by ``person``, ``stage``); ``POST``
    grants a stage whose evidence the person meets; ``withdraw`` ends one."""

    queryset_base = (
        StageGrant.objects.select_related("person", "stage", "withdrawal")
        .prefetch_related("stage__requirements__course")
        .order_by("granted_at", "id")
    )
    read_serializer = StageGrantSerializer
    request_serializers = {"create": GrantCreateSerializer, "withdraw": ReasonSerializer}
    filterset_fields = ["person", "stage"]

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "at": timezone.now()}

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        rows = list(page if page is not None else self.filter_queryset(self.get_queryset()))
        context = self.get_serializer_context()
        context["certs"] = selectors.latest_certificates(
            {g.person_id for g in rows}, selectors.utc_day(context["at"])
        )
        data = StageGrantSerializer(rows, many=True, context=context).data
        return self.get_paginated_response(data) if page is not None else Response(data)

    @extend_schema(request=GrantCreateSerializer, responses={201: StageGrantSerializer})
    def create(self, request: Request) -> Response:
        grant = services.grant_stage(actor=request.user, **self._body(request))
        return self._out(grant, status.HTTP_201_CREATED)

    @extend_schema(request=ReasonSerializer, responses=StageGrantSerializer)
    @action(detail=True, methods=["post"])
    def withdraw(self, request: Request, pk: Any = None) -> Response:
        grant = self.get_object()
        services.withdraw_stage(actor=request.user, grant=grant, **self._body(request))
        return self._out(grant)


def _flag(request: Request, name: str) -> bool:
    return str(request.query_params.get(name, "")).lower() in ("1", "true", "yes", "on")


class ProposalViewSet(ViewSet):
    """The authorisation proposals queue, computed now: each trainee's next stage whose
    evidence is met, with the checks (``include_unmet=true``: also who is close, with
    what is missing)."""

    permission_classes = [IsHubStaff]

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "include_unmet", OpenApiTypes.BOOL, description="Also who is close (default no)"
            )
        ],
        responses=OpenApiTypes.OBJECT,
    )
    def list(self, request: Request) -> Response:
        at = timezone.now()
        queue = matrix.proposals(request.user, at, include_unmet=_flag(request, "include_unmet"))
        return Response(
            {
                "at": at,
                "results": [
                    {
                        "person": p.evaluation.person.pk,
                        "person_username": p.evaluation.person.get_username(),
                        "stage": p.evaluation.stage.pk,
                        "stage_code": p.evaluation.stage.code,
                        "stage_name": p.evaluation.stage.name,
                        "aircraft_type": p.evaluation.stage.aircraft_type_id,
                        "current_grant": p.current.number if p.current else None,
                        "met": p.evaluation.met,
                        "checks": p.evaluation.as_json(),
                    }
                    for p in queue
                ],
            }
        )


class ReminderViewSet(ViewSet):
    """Recurrent-training reminders: certificates running out within ``days`` (default
    90) or out with no renewal, per person, with the stage grants lapsing with them."""

    permission_classes = [IsHubStaff]

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "days", OpenApiTypes.INT, description="The horizon in days (default 90)"
            )
        ],
        responses=OpenApiTypes.OBJECT,
    )
    def list(self, request: Request) -> Response:
        try:
            days = reminders.parse_days(request.query_params.get("days"))
        except ValueError as exc:
            raise exceptions.ValidationError({"days": str(exc)}) from None
        today = selectors.utc_day(timezone.now())
        return Response(
            {
                "day": today,
                "days": days,
                "results": [
                    {
                        "person": p.person.pk,
                        "person_username": p.person.get_username(),
                        "due": [
                            {
                                "course": d.course.pk,
                                "course_code": d.course.code,
                                "certificate": d.certificate.number,
                                "expires_on": d.expires_on,
                                "expired": d.expired,
                                "days_left": d.days_left,
                                "lapsing_grants": [
                                    {"number": g.number, "stage": g.stage.code} for g in d.grants
                                ],
                            }
                            for d in p.rows
                        ],
                    }
                    for p in reminders.due(request.user, today, within_days=days)
                ],
            }
        )


def register(router: DefaultRouter) -> None:
    """Add the training routes to the API router."""
    router.register("training/courses", CourseViewSet, basename="course")
    router.register("training/sessions", SessionViewSet, basename="trainingsession")
    router.register("training/enrolments", EnrolmentViewSet, basename="enrolment")
    router.register("training/attendance", AttendanceViewSet, basename="attendance")
    router.register("training/assessments", AssessmentViewSet, basename="assessment")
    router.register("training/certificates", CertificateViewSet, basename="certificate")
    router.register("training/trainees", TraineeViewSet, basename="trainee")
    router.register("training/stages", StageViewSet, basename="stage")
    router.register("training/stage-grants", StageGrantViewSet, basename="stagegrant")
    router.register("training/proposals", ProposalViewSet, basename="proposal")
    router.register("training/reminders", ReminderViewSet, basename="reminder")
    # the transfer dashboard (open to operator staff, scoped to their operator)
    from kanat.training.views_dashboard import TransferDashboardViewSet

    router.register("training/dashboard", TransferDashboardViewSet, basename="transferdashboard")
