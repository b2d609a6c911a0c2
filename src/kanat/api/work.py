"""Maintenance execution under /api/: work packages, task cards and their steps, sign-offs,
defects with their deferrals.

Reads go through ``restrict(user)`` (another operator's package, card, step, sign-off or
defect is a 404, and absent from every list). Every write calls ``kanat.work.services``,
which checks the role, the state and the signer's authority at the instant of signing:
a broken rule is a 400 naming the field, a state someone else changed first a 409, a
signature the signer's authorisations do not cover a 403 with the reason.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import django_filters as filters
from django.db.models import Count, Prefetch, Q, QuerySet, TextChoices
from django.utils import timezone
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.plumbing import ResolvedComponent, build_choice_description_list
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.viewsets import GenericViewSet

from kanat.api.base import RestrictedPrimaryKeyRelatedField, RestrictedViewSetMixin
from kanat.core.models import User
from kanat.fleet.models import Aircraft, Part
from kanat.maintenance.models import Compliance, Task
from kanat.work import selectors, services
from kanat.work.models import (
    CardStatus,
    Defect,
    DefectClosure,
    DefectSource,
    DefectStatus,
    Deferral,
    MelCategory,
    PackageStatus,
    Release,
    SignOff,
    SignOffKind,
    StepKind,
    SupervisedStep,
    TaskCard,
    TaskStep,
    WorkPackage,
)

# --- fields ------------------------------------------------------------------------------


class EnumField(serializers.ChoiceField):
    """A choice field whose choice set is one named schema component (``PackageStatusEnum``
    ...), the same wherever it appears: the list and detail shapes share it."""

    def __init__(self, enum: type[TextChoices], **kwargs: Any) -> None:
        self.enum = enum
        super().__init__(choices=enum.choices, **kwargs)


class EnumFieldExtension(OpenApiSerializerFieldExtension):
    target_class = EnumField

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        enum = self.target.enum
        name = f"{enum.__name__}Enum"
        component = ResolvedComponent(
            name=name,
            type=ResolvedComponent.SCHEMA,
            object=name,
            schema={
                "enum": list(enum.values),
                "type": "string",
                "description": build_choice_description_list(enum.choices),
            },
        )
        auto_schema.registry.register_on_missing(component)
        return component.ref


class RestrictedSlugRelatedField(serializers.SlugRelatedField):
    """A reference by code to an object the caller may see (else 'does not exist')."""

    def get_queryset(self) -> Any:
        request = self.context.get("request")
        return super().get_queryset().restrict(request.user if request else None)


def _now(context: dict[str, Any]) -> dt.datetime:
    """One instant per request: every clock of a page is read at the same time."""
    return context.get("now") or timezone.now()


def _one(obj: Any, name: str) -> Any:
    """A reverse one-to-one that may not exist (``None`` then)."""
    return getattr(obj, name, None)


# --- sign-offs ---------------------------------------------------------------------------


class StandingSignOffSerializer(serializers.ModelSerializer[SignOff]):
    """A sign-off as shown on its step or card (not corrected by a later one)."""

    kind = EnumField(SignOffKind, read_only=True)
    signer = serializers.CharField(source="signer.username", read_only=True)
    performed_by = serializers.CharField(
        source="performed_by.username",
        default=None,
        read_only=True,
        help_text="the trainee who performed the step under the signer's supervision",
    )

    class Meta:
        model = SignOff
        fields = [
            "id",
            "kind",
            "signer",
            "performed_by",
            "supervised",
            "qualification_ref",
            "signed_at",
            "value",
            "within_limits",
            "remark",
            "part",
            "installation",
            "removal_reason",
            "corrects",
            "correction_reason",
        ]
        read_only_fields = fields


class SignOffSerializer(StandingSignOffSerializer):
    card_label = serializers.CharField(source="card.__str__", read_only=True)
    step_seq = serializers.IntegerField(source="step.seq", default=None, read_only=True)
    corrected_by = serializers.SerializerMethodField(
        help_text="the sign-off that corrects this one: it then no longer counts"
    )
    standing = serializers.SerializerMethodField(help_text="not corrected by a later sign-off")

    class Meta(StandingSignOffSerializer.Meta):
        fields = [
            *StandingSignOffSerializer.Meta.fields[:2],
            "card",
            "card_label",
            "step",
            "step_seq",
            *StandingSignOffSerializer.Meta.fields[2:],
            "corrected_by",
            "standing",
        ]
        read_only_fields = fields

    def get_corrected_by(self, obj: SignOff) -> int | None:
        later = _one(obj, "corrected_by")
        return later.pk if later else None

    def get_standing(self, obj: SignOff) -> bool:
        return _one(obj, "corrected_by") is None


# --- task cards and steps ----------------------------------------------------------------


class TaskStepSerializer(serializers.ModelSerializer[TaskStep]):
    kind = EnumField(StepKind, read_only=True)
    limits = serializers.CharField(
        source="limits_text", read_only=True, help_text="the measured value's limits, as text"
    )
    position = serializers.CharField(source="position.code", default=None, read_only=True)
    signoffs = StandingSignOffSerializer(
        source="standing_signoffs", many=True, read_only=True, help_text="standing sign-offs"
    )
    defects = serializers.SlugRelatedField(
        slug_field="number", many=True, read_only=True, help_text="defects found at this step"
    )

    class Meta:
        model = TaskStep
        fields = [
            "id",
            "card",
            "seq",
            "kind",
            "text",
            "reference",
            "measure_name",
            "measure_unit",
            "measure_min",
            "measure_max",
            "limits",
            "position",
            "signoffs",
            "defects",
        ]
        read_only_fields = fields


class TaskCardSerializer(serializers.ModelSerializer[TaskCard]):
    package_number = serializers.CharField(source="package.number", read_only=True)
    task = serializers.CharField(source="task.code", default=None, read_only=True)
    part_label = serializers.SerializerMethodField(help_text="part number and serial")
    defect_number = serializers.CharField(source="defect.number", default=None, read_only=True)
    status = EnumField(CardStatus, read_only=True)

    class Meta:
        model = TaskCard
        fields = [
            "id",
            "package",
            "package_number",
            "seq",
            "title",
            "ata",
            "task",
            "part",
            "part_label",
            "defect",
            "defect_number",
            "critical",
            "status",
        ]
        read_only_fields = fields

    def get_part_label(self, card: TaskCard) -> str | None:
        return str(card.part) if card.part_id else None


class TaskCardDetailSerializer(TaskCardSerializer):
    aircraft = serializers.IntegerField(source="package.aircraft_id", read_only=True)
    aircraft_serial = serializers.CharField(source="package.aircraft.serial", read_only=True)
    package_status = EnumField(PackageStatus, source="package.status", read_only=True)
    revision = serializers.IntegerField(
        source="revision.number", default=None, read_only=True, help_text="task revision used"
    )
    steps = TaskStepSerializer(many=True, read_only=True)
    signoffs = StandingSignOffSerializer(
        source="card_signoffs",
        many=True,
        read_only=True,
        help_text="standing card signature and independent inspection",
    )

    class Meta(TaskCardSerializer.Meta):
        fields = [
            *TaskCardSerializer.Meta.fields,
            "aircraft",
            "aircraft_serial",
            "package_status",
            "revision",
            "tools",
            "parts_required",
            "references",
            "steps",
            "signoffs",
        ]
        read_only_fields = fields


class RemarkSerializer(serializers.Serializer[Any]):
    remark = serializers.CharField(required=False, allow_blank=True, default="", max_length=1000)


class StepValuesSerializer(serializers.Serializer[Any]):
    """What a step's signature carries: the value measured, a remark, the part moved."""

    value = serializers.FloatField(
        required=False, allow_null=True, default=None, help_text="measured value (measure step)"
    )
    remark = serializers.CharField(required=False, allow_blank=True, default="", max_length=1000)
    part = RestrictedPrimaryKeyRelatedField(
        queryset=Part.objects.all(),
        required=False,
        allow_null=True,
        default=None,
        help_text="the part installed (install step), or the part removed (remove step)",
    )
    removal_reason = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text="remove step: " + ", ".join(r.value for r in services.CARD_REMOVAL_REASONS),
    )


class SignStepSerializer(StepValuesSerializer):
    corrects = RestrictedPrimaryKeyRelatedField(
        queryset=SignOff.objects.all(),
        required=False,
        allow_null=True,
        default=None,
        help_text="the sign-off of this step that this one corrects",
    )
    correction_reason = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=500
    )


# --- work under supervision ---------------------------------------------------------------


class SupervisedStepSerializer(serializers.ModelSerializer[SupervisedStep]):
    """A trainee's signature on a step performed under supervision, and what became of it:
    countersigned (``countersignature``: the step's sign-off), declined, or awaiting."""

    trainee = serializers.CharField(source="trainee.username", read_only=True)
    supervisor = serializers.CharField(source="supervisor.username", read_only=True)
    step_seq = serializers.IntegerField(source="step.seq", read_only=True)
    state = serializers.SerializerMethodField(help_text="awaiting, countersigned or declined")
    countersignature = serializers.SerializerMethodField(help_text="the step's sign-off")
    declined_by = serializers.SerializerMethodField()
    decline_reason = serializers.SerializerMethodField()

    class Meta:
        model = SupervisedStep
        fields = [
            "id",
            "card",
            "step",
            "step_seq",
            "trainee",
            "supervisor",
            "stage_ref",
            "performed_at",
            "value",
            "remark",
            "part",
            "removal_reason",
            "state",
            "countersignature",
            "declined_by",
            "decline_reason",
        ]
        read_only_fields = fields

    def get_state(self, obj: SupervisedStep) -> str:
        if _one(obj, "countersignature") is not None:
            return "countersigned"
        return "declined" if _one(obj, "decline") is not None else "awaiting"

    def get_countersignature(self, obj: SupervisedStep) -> int | None:
        signed = _one(obj, "countersignature")
        return signed.pk if signed else None

    def get_declined_by(self, obj: SupervisedStep) -> str | None:
        decline = _one(obj, "decline")
        return decline.declined_by.username if decline else None

    def get_decline_reason(self, obj: SupervisedStep) -> str | None:
        decline = _one(obj, "decline")
        return decline.reason if decline else None


class SignSupervisedSerializer(StepValuesSerializer):
    supervisor = RestrictedSlugRelatedField(
        slug_field="username",
        queryset=User.objects.filter(is_active=True),
        help_text="username of the supervisor who watches the work and countersigns it",
    )


class DeclineSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)


# --- work packages -----------------------------------------------------------------------


class ComplianceSerializer(serializers.ModelSerializer[Compliance]):
    task = serializers.CharField(source="task.code", read_only=True)

    class Meta:
        model = Compliance
        fields = ["id", "task", "aircraft", "part", "done_at", "reference"]
        read_only_fields = fields


class ReleaseSerializer(serializers.ModelSerializer[Release]):
    signer = serializers.CharField(source="signer.username", read_only=True)
    compliances = ComplianceSerializer(
        many=True, read_only=True, help_text="the compliance records the release made"
    )

    class Meta:
        model = Release
        fields = [
            "id",
            "package",
            "statement",
            "signer",
            "qualification_ref",
            "signed_at",
            "compliances",
        ]
        read_only_fields = fields


class WorkPackageSerializer(serializers.ModelSerializer[WorkPackage]):
    aircraft_serial = serializers.CharField(source="aircraft.serial", read_only=True)
    operator = serializers.CharField(source="aircraft.operator.code", read_only=True)
    status = EnumField(PackageStatus, read_only=True)
    created_by = serializers.CharField(source="created_by.username", default=None, read_only=True)
    cards_total = serializers.IntegerField(source="n_cards", read_only=True)
    cards_done = serializers.IntegerField(source="n_done", read_only=True)

    class Meta:
        model = WorkPackage
        fields = [
            "id",
            "number",
            "aircraft",
            "aircraft_serial",
            "operator",
            "title",
            "status",
            "planned_start",
            "planned_end",
            "created_by",
            "created_at",
            "opened_at",
            "started_at",
            "completed_at",
            "released_at",
            "cards_total",
            "cards_done",
        ]
        read_only_fields = fields


class WorkPackageDetailSerializer(WorkPackageSerializer):
    cards = TaskCardSerializer(many=True, read_only=True)
    release = serializers.SerializerMethodField()

    class Meta(WorkPackageSerializer.Meta):
        fields = [*WorkPackageSerializer.Meta.fields, "cards", "release"]
        read_only_fields = fields

    @extend_schema_field(ReleaseSerializer(allow_null=True))
    def get_release(self, package: WorkPackage) -> dict[str, Any] | None:
        release = _one(package, "release")
        return ReleaseSerializer(release, context=self.context).data if release else None


class DueItemSerializer(serializers.Serializer[Any]):
    task = RestrictedSlugRelatedField(
        slug_field="code", queryset=Task.objects.all(), help_text="task code"
    )
    part = RestrictedPrimaryKeyRelatedField(
        queryset=Part.objects.all(),
        required=False,
        allow_null=True,
        default=None,
        help_text="the fitted part, for a part's task",
    )


class CardsSerializer(serializers.Serializer[Any]):
    items = DueItemSerializer(many=True, required=False, default=list)
    defects = RestrictedPrimaryKeyRelatedField(
        queryset=Defect.objects.all(), many=True, required=False, default=list
    )


class WorkPackageCreateSerializer(CardsSerializer):
    aircraft = RestrictedPrimaryKeyRelatedField(queryset=Aircraft.objects.all())
    title = serializers.CharField(max_length=200)
    planned_start = serializers.DateField(required=False, allow_null=True, default=None)
    planned_end = serializers.DateField(required=False, allow_null=True, default=None)


class ReleaseRequestSerializer(serializers.Serializer[Any]):
    statement = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=1000,
        help_text="blank: the standard certificate of release to service",
    )


# --- defects -----------------------------------------------------------------------------


class DeferralSerializer(serializers.ModelSerializer[Deferral]):
    category = EnumField(MelCategory, read_only=True)
    signer = serializers.CharField(source="signer.username", read_only=True)
    in_force = serializers.SerializerMethodField(help_text="not superseded by a later deferral")

    class Meta:
        model = Deferral
        fields = [
            "id",
            "defect",
            "category",
            "mel_item",
            "deadline",
            "reason",
            "supersedes",
            "in_force",
            "signer",
            "qualification_ref",
            "signed_at",
        ]
        read_only_fields = fields

    def get_in_force(self, deferral: Deferral) -> bool:
        return _one(deferral, "superseded_by") is None


class DefectClosureSerializer(serializers.ModelSerializer[DefectClosure]):
    signer = serializers.CharField(source="signer.username", read_only=True)

    class Meta:
        model = DefectClosure
        fields = ["id", "card", "action", "signer", "qualification_ref", "signed_at"]
        read_only_fields = fields


class DefectSerializer(serializers.ModelSerializer[Defect]):
    aircraft_serial = serializers.CharField(source="aircraft.serial", read_only=True)
    operator = serializers.CharField(source="aircraft.operator.code", read_only=True)
    source = EnumField(DefectSource, read_only=True)
    status = EnumField(DefectStatus, read_only=True)
    raised_by = serializers.CharField(source="raised_by.username", default=None, read_only=True)
    seconds_left = serializers.SerializerMethodField(
        help_text="deferred: seconds until the deadline (negative: overdue by); else null"
    )
    expired = serializers.SerializerMethodField(help_text="deferred, and past its deadline")
    grounds = serializers.SerializerMethodField(
        help_text="grounds the aircraft now: open and not deferred, or deferral expired"
    )

    class Meta:
        model = Defect
        fields = [
            "id",
            "number",
            "aircraft",
            "aircraft_serial",
            "operator",
            "ata",
            "description",
            "source",
            "source_ref",
            "found_at",
            "raised_by",
            "raised_at",
            "step",
            "status",
            "deadline",
            "seconds_left",
            "expired",
            "grounds",
            "closed_at",
        ]
        read_only_fields = fields

    def _clock(self, defect: Defect) -> selectors.Clock | None:
        return selectors.clock(defect, _now(self.context))

    def get_seconds_left(self, defect: Defect) -> int | None:
        c = self._clock(defect)
        return int(c.left.total_seconds()) if c else None

    def get_expired(self, defect: Defect) -> bool:
        c = self._clock(defect)
        return bool(c and c.expired)

    def get_grounds(self, defect: Defect) -> bool:
        if defect.found_at > _now(self.context):
            return False
        return defect.status == DefectStatus.OPEN or self.get_expired(defect)


class DefectDetailSerializer(DefectSerializer):
    deferrals = DeferralSerializer(many=True, read_only=True)
    closure = serializers.SerializerMethodField()
    cards = serializers.PrimaryKeyRelatedField(
        many=True, read_only=True, help_text="rectification task cards"
    )

    class Meta(DefectSerializer.Meta):
        fields = [*DefectSerializer.Meta.fields, "deferrals", "closure", "cards"]
        read_only_fields = fields

    @extend_schema_field(DefectClosureSerializer(allow_null=True))
    def get_closure(self, defect: Defect) -> dict[str, Any] | None:
        closure = _one(defect, "closure")
        return DefectClosureSerializer(closure, context=self.context).data if closure else None


class RaiseDefectSerializer(serializers.Serializer[Any]):
    aircraft = RestrictedPrimaryKeyRelatedField(queryset=Aircraft.objects.all())
    ata = serializers.CharField(max_length=8)
    description = serializers.CharField(max_length=1000)
    source = EnumField(DefectSource)
    found_at = serializers.DateTimeField(
        required=False, allow_null=True, default=None, help_text="default: now"
    )
    source_ref = serializers.CharField(required=False, allow_blank=True, default="", max_length=200)


class DeferSerializer(serializers.Serializer[Any]):
    category = EnumField(MelCategory)
    mel_item = serializers.CharField(max_length=40)
    reason = serializers.CharField(max_length=1000)
    deadline = serializers.DateTimeField(
        required=False,
        allow_null=True,
        default=None,
        help_text="category A only: the MEL item's own limit (B, C, D run 3, 10, 120 days)",
    )


# --- filters -----------------------------------------------------------------------------


class WorkPackageFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=PackageStatus.choices)
    aircraft = filters.NumberFilter(field_name="aircraft_id")
    serial = filters.CharFilter(field_name="aircraft__serial")
    operator = filters.CharFilter(
        field_name="aircraft__operator__code", label="operator code (hub staff)"
    )

    class Meta:
        model = WorkPackage
        fields = ["status", "aircraft", "serial", "operator"]


class TaskCardFilter(filters.FilterSet):
    package = filters.NumberFilter(field_name="package_id")
    status = filters.ChoiceFilter(choices=CardStatus.choices)
    aircraft = filters.NumberFilter(field_name="package__aircraft_id")

    class Meta:
        model = TaskCard
        fields = ["package", "status", "aircraft", "critical"]


class DefectFilter(filters.FilterSet):
    status = filters.ChoiceFilter(choices=DefectStatus.choices)
    aircraft = filters.NumberFilter(field_name="aircraft_id")
    operator = filters.CharFilter(field_name="aircraft__operator__code", label="operator code")
    ata = filters.CharFilter(method="filter_ata", label="ATA chapter or reference (32, 32-10)")
    expired = filters.BooleanFilter(
        method="filter_expired", label="deferred and past the deadline now"
    )

    class Meta:
        model = Defect
        fields = ["status", "aircraft", "operator", "ata", "source", "expired"]

    def filter_ata(self, qs: QuerySet[Defect], name: str, value: Any) -> QuerySet[Defect]:
        return qs.filter(Q(ata=value) | Q(ata__startswith=f"{value}-"))

    def filter_expired(self, qs: QuerySet[Defect], name: str, value: Any) -> QuerySet[Defect]:
        lapsed = Q(status=DefectStatus.DEFERRED, deadline__lte=timezone.now())
        return qs.filter(lapsed) if value else qs.exclude(lapsed)


class SupervisedStepFilter(filters.FilterSet):
    card = filters.NumberFilter(field_name="card_id")
    step = filters.NumberFilter(field_name="step_id")
    trainee = filters.CharFilter(field_name="trainee__username")
    supervisor = filters.CharFilter(field_name="supervisor__username")
    awaiting = filters.BooleanFilter(method="filter_awaiting", label="awaiting countersignature")

    class Meta:
        model = SupervisedStep
        fields = ["card", "step", "trainee", "supervisor", "awaiting"]

    def filter_awaiting(
        self, qs: QuerySet[SupervisedStep], name: str, value: Any
    ) -> QuerySet[SupervisedStep]:
        waiting = Q(countersignature__isnull=True, decline__isnull=True)
        return qs.filter(waiting) if value else qs.exclude(waiting)


class SignOffFilter(filters.FilterSet):
    card = filters.NumberFilter(field_name="card_id")
    step = filters.NumberFilter(field_name="step_id")
    package = filters.NumberFilter(field_name="card__package_id")
    kind = filters.ChoiceFilter(choices=SignOffKind.choices)
    standing = filters.BooleanFilter(
        field_name="corrected_by", lookup_expr="isnull", label="not corrected by a later one"
    )

    class Meta:
        model = SignOff
        fields = ["card", "step", "package", "kind", "standing"]


# --- views -------------------------------------------------------------------------------


class ShapesMixin:
    """The serializer of each action: the request body of a write (also the browsable API's
    form), the list shape for ``list``, the detail shape otherwise."""

    list_serializer: Any = None
    detail_serializer: Any = None
    request_serializers: dict[str, Any] = {}
    action: str | None

    def get_serializer_class(self) -> Any:
        if self.action in self.request_serializers:
            return self.request_serializers[self.action]
        return self.list_serializer if self.action == "list" else self.detail_serializer


def _standing_signoffs(*kinds: str) -> QuerySet[SignOff]:
    qs = services.standing(SignOff.objects.select_related("signer", "performed_by"))
    return qs.filter(kind__in=kinds) if kinds else qs


def _steps() -> QuerySet[TaskStep]:
    return TaskStep.objects.select_related("position").prefetch_related(
        Prefetch("signoffs", queryset=_standing_signoffs(), to_attr="standing_signoffs"),
        Prefetch("defects", queryset=Defect.objects.order_by("number")),
    )


class WorkPackageViewSet(
    ShapesMixin,
    RestrictedViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    GenericViewSet,
):
    """Work packages: the work planned for one aircraft at one visit. POST creates a draft
    with a card per due item (task code, and the part for a part's task) and defect;
    ``open`` issues it to the hangar, ``add-cards`` adds work until it is completed,
    ``release`` signs the certificate of release to service when every card is done."""

    queryset_base = WorkPackage.objects.select_related("aircraft__operator", "created_by")
    filterset_class = WorkPackageFilter
    ordering_fields = ["created_at", "planned_start", "number"]
    list_serializer = WorkPackageSerializer
    detail_serializer = WorkPackageDetailSerializer
    request_serializers = {
        "create": WorkPackageCreateSerializer,
        "add_cards": CardsSerializer,
        "release": ReleaseRequestSerializer,
    }

    def get_queryset(self) -> Any:
        qs = (
            super()
            .get_queryset()
            .annotate(
                n_cards=Count("cards", distinct=True),
                n_done=Count("cards", filter=Q(cards__status=CardStatus.DONE), distinct=True),
            )
            .order_by("-created_at", "-id")  # (Meta.ordering does not survive the GROUP BY)
        )
        return self._detailed(qs) if self.action == "retrieve" else qs

    @staticmethod
    def _detailed(qs: QuerySet[WorkPackage]) -> QuerySet[WorkPackage]:
        cards = TaskCard.objects.select_related("task", "part__part_number", "defect")
        return qs.select_related("release__signer").prefetch_related(
            Prefetch("cards", queryset=cards.order_by("seq")),
            Prefetch("release__compliances", queryset=Compliance.objects.select_related("task")),
        )

    def _detail(self, pk: int, code: int = status.HTTP_200_OK) -> Response:
        package = self._detailed(self.get_queryset()).get(pk=pk)
        body = WorkPackageDetailSerializer(package, context=self.get_serializer_context()).data
        return Response(body, status=code)

    @staticmethod
    def _items(data: dict[str, Any]) -> list[services.DueRef]:
        return [services.DueRef(i["task"], i["part"]) for i in data["items"]]

    @extend_schema(
        request=WorkPackageCreateSerializer, responses={201: WorkPackageDetailSerializer}
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        package = services.create_package(
            actor=request.user,
            aircraft=data["aircraft"],
            title=data["title"],
            items=self._items(data),
            defects=data["defects"],
            planned_start=data["planned_start"],
            planned_end=data["planned_end"],
        )
        return self._detail(package.pk, status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=WorkPackageDetailSerializer)
    @action(detail=True, methods=["post"])
    def open(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        package = self.get_object()
        services.open_package(actor=request.user, package=package)
        return self._detail(package.pk)

    @extend_schema(request=CardsSerializer, responses=WorkPackageDetailSerializer)
    @action(detail=True, methods=["post"], url_path="add-cards")
    def add_cards(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        package = self.get_object()
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.add_cards(
            actor=request.user,
            package=package,
            items=self._items(body.validated_data),
            defects=body.validated_data["defects"],
        )
        return self._detail(package.pk)

    @extend_schema(request=ReleaseRequestSerializer, responses={201: ReleaseSerializer})
    @action(detail=True, methods=["post"])
    def release(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        package = self.get_object()
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        release = services.release_package(
            actor=request.user, package=package, statement=body.validated_data["statement"]
        )
        release = Release.objects.select_related("signer").get(pk=release.pk)
        data = ReleaseSerializer(release, context=self.get_serializer_context()).data
        return Response(data, status=status.HTTP_201_CREATED)


class TaskCardViewSet(
    ShapesMixin,
    RestrictedViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    GenericViewSet,
):
    """Task cards with their steps (limits, standing sign-offs), tools, parts and
    references. ``sign`` signs the card once every step is; ``inspect`` is the independent
    inspection of a critical card, by someone who did none of its work."""

    queryset_base = TaskCard.objects.select_related(
        "package__aircraft", "task", "revision", "part__part_number", "defect"
    )
    filterset_class = TaskCardFilter
    ordering_fields = ["package", "seq"]

    def get_queryset(self) -> Any:
        qs = super().get_queryset()
        if self.action != "retrieve":
            return qs
        return qs.prefetch_related(
            Prefetch("steps", queryset=_steps().order_by("seq")),
            Prefetch(
                "signoffs",
                queryset=_standing_signoffs(SignOffKind.CARD, SignOffKind.INSPECTION),
                to_attr="card_signoffs",
            ),
        )

    list_serializer = TaskCardSerializer
    detail_serializer = TaskCardDetailSerializer
    request_serializers = {"sign": RemarkSerializer, "inspect": RemarkSerializer}

    def _signed(self, signoff: SignOff) -> Response:
        signoff = SignOff.objects.select_related(
            "signer", "performed_by", "card__package", "step"
        ).get(pk=signoff.pk)
        data = SignOffSerializer(signoff, context=self.get_serializer_context()).data
        return Response(data, status=status.HTTP_201_CREATED)

    @extend_schema(request=RemarkSerializer, responses={201: SignOffSerializer})
    @action(detail=True, methods=["post"])
    def sign(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        card = self.get_object()
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self._signed(
            services.sign_card(actor=request.user, card=card, remark=body.validated_data["remark"])
        )

    @extend_schema(request=RemarkSerializer, responses={201: SignOffSerializer})
    @action(detail=True, methods=["post"])
    def inspect(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        card = self.get_object()
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self._signed(
            services.inspect_card(
                actor=request.user, card=card, remark=body.validated_data["remark"]
            )
        )


class TaskStepViewSet(
    ShapesMixin, RestrictedViewSetMixin, mixins.RetrieveModelMixin, GenericViewSet
):
    """A step of a task card; ``sign`` signs it (a measured value outside its limits raises
    a defect; a removal or installation step moves the configuration)."""

    queryset_base = _steps()
    detail_serializer = TaskStepSerializer
    request_serializers = {"sign": SignStepSerializer, "sign_supervised": SignSupervisedSerializer}

    @extend_schema(request=SignStepSerializer, responses={201: SignOffSerializer})
    @action(detail=True, methods=["post"])
    def sign(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        step = self.get_object()
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        signoff = services.sign_step(actor=request.user, step=step, **body.validated_data)
        signoff = SignOff.objects.select_related(
            "signer", "performed_by", "card__package", "step"
        ).get(pk=signoff.pk)
        data = SignOffSerializer(signoff, context=self.get_serializer_context()).data
        return Response(data, status=status.HTTP_201_CREATED)

    @extend_schema(request=SignSupervisedSerializer, responses={201: SupervisedStepSerializer})
    @action(detail=True, methods=["post"], url_path="sign-supervised")
    def sign_supervised(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """A trainee signs the step as performed under the named supervisor's supervision;
        it counts once the supervisor countersigns it (``/api/supervised-steps/<id>/
        countersign/``)."""
        step = self.get_object()
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        entry = services.sign_step_supervised(actor=request.user, step=step, **body.validated_data)
        entry = _supervised().get(pk=entry.pk)
        data = SupervisedStepSerializer(entry, context=self.get_serializer_context()).data
        return Response(data, status=status.HTTP_201_CREATED)


def _supervised() -> QuerySet[SupervisedStep]:
    return SupervisedStep.objects.select_related(
        "step", "trainee", "supervisor", "countersignature", "decline__declined_by"
    )


class SupervisedStepViewSet(
    ShapesMixin,
    RestrictedViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    GenericViewSet,
):
    """Trainees' signatures on steps performed under supervision (``awaiting=true``: those
    awaiting their countersignature). Only the supervisor the trainee named ``countersign``s
    one (the step's sign-off, under the supervisor's own authority) or ``decline``s it with a
    reason (the step is open again)."""

    queryset_base = _supervised()
    filterset_class = SupervisedStepFilter
    ordering_fields = ["performed_at"]
    list_serializer = SupervisedStepSerializer
    detail_serializer = SupervisedStepSerializer
    request_serializers = {"countersign": RemarkSerializer, "decline": DeclineSerializer}

    @extend_schema(request=RemarkSerializer, responses={201: SignOffSerializer})
    @action(detail=True, methods=["post"])
    def countersign(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        entry = self.get_object()
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        signoff = services.countersign_step(
            actor=request.user, entry=entry, remark=body.validated_data["remark"]
        )
        signoff = SignOff.objects.select_related(
            "signer", "performed_by", "card__package", "step"
        ).get(pk=signoff.pk)
        data = SignOffSerializer(signoff, context=self.get_serializer_context()).data
        return Response(data, status=status.HTTP_201_CREATED)

    @extend_schema(request=DeclineSerializer, responses={201: SupervisedStepSerializer})
    @action(detail=True, methods=["post"])
    def decline(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        entry = self.get_object()
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.decline_supervised_step(
            actor=request.user, entry=entry, reason=body.validated_data["reason"]
        )
        entry = _supervised().get(pk=entry.pk)
        data = SupervisedStepSerializer(entry, context=self.get_serializer_context()).data
        return Response(data, status=status.HTTP_201_CREATED)


class SignOffViewSet(
    RestrictedViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, GenericViewSet
):
    """Every sign-off, corrected ones too (``standing=true``: those that still count)."""

    queryset_base = SignOff.objects.select_related(
        "signer", "performed_by", "card__package", "step", "corrected_by"
    )
    serializer_class = SignOffSerializer
    filterset_class = SignOffFilter
    ordering_fields = ["signed_at"]


class DefectViewSet(
    ShapesMixin,
    RestrictedViewSetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    GenericViewSet,
):
    """Defects with their deferral clocks (``seconds_left``, ``expired``, ``grounds``, read
    now). POST raises one (an operator's staff: on their own aircraft); ``defer`` defers it
    under an MEL category, signed by certifying staff."""

    queryset_base = Defect.objects.select_related("aircraft__operator", "raised_by")
    filterset_class = DefectFilter
    ordering_fields = ["found_at", "deadline", "number"]

    def get_queryset(self) -> Any:
        qs = super().get_queryset()
        return self._detailed(qs) if self.action == "retrieve" else qs

    @staticmethod
    def _detailed(qs: QuerySet[Defect]) -> QuerySet[Defect]:
        deferrals = Deferral.objects.select_related("signer", "superseded_by")
        return qs.select_related("closure__signer").prefetch_related(
            Prefetch("deferrals", queryset=deferrals.order_by("signed_at", "id")),
            Prefetch("cards", queryset=TaskCard.objects.order_by("id")),
        )

    list_serializer = DefectSerializer
    detail_serializer = DefectDetailSerializer
    request_serializers = {"create": RaiseDefectSerializer, "defer": DeferSerializer}

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "now": timezone.now()}

    def _detail(self, pk: int, code: int = status.HTTP_200_OK) -> Response:
        defect = self._detailed(self.get_queryset()).get(pk=pk)
        body = DefectDetailSerializer(defect, context=self.get_serializer_context()).data
        return Response(body, status=code)

    @extend_schema(request=RaiseDefectSerializer, responses={201: DefectDetailSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        defect = services.raise_defect(actor=request.user, **body.validated_data)
        return self._detail(defect.pk, status.HTTP_201_CREATED)

    @extend_schema(request=DeferSerializer, responses={201: DeferralSerializer})
    @action(detail=True, methods=["post"])
    def defer(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        defect = self.get_object()
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        deferral = services.defer_defect(actor=request.user, defect=defect, **body.validated_data)
        deferral = Deferral.objects.select_related("signer", "superseded_by").get(pk=deferral.pk)
        data = DeferralSerializer(deferral, context=self.get_serializer_context()).data
        return Response(data, status=status.HTTP_201_CREATED)
