from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from kanat.api import flightlogs, forecast, inventory, people, production, training, views, work

router = DefaultRouter()
router.register("operators", views.OperatorViewSet, basename="operator")
router.register("aircraft-types", views.AircraftTypeViewSet, basename="aircrafttype")
router.register("variants", views.VariantViewSet, basename="variant")
router.register("part-numbers", views.PartNumberViewSet, basename="partnumber")
router.register("aircraft", views.AircraftViewSet, basename="aircraft")
router.register("parts", views.PartViewSet, basename="part")
router.register("installations", views.InstallationViewSet, basename="installation")
router.register("flights", views.FlightViewSet, basename="flight")
router.register("flight-logs", flightlogs.FlightLogViewSet, basename="flightlog")
router.register("qualifications", people.QualificationViewSet, basename="qualification")
router.register("authorisations", people.AuthorisationViewSet, basename="authorisation")
router.register("work-packages", work.WorkPackageViewSet, basename="workpackage")
router.register("task-cards", work.TaskCardViewSet, basename="taskcard")
router.register("task-steps", work.TaskStepViewSet, basename="taskstep")
router.register("defects", work.DefectViewSet, basename="defect")
router.register("sign-offs", work.SignOffViewSet, basename="signoff")
router.register("supervised-steps", work.SupervisedStepViewSet, basename="supervisedstep")
inventory.register(router)
production.register(router)
training.register(router)

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
    path("forecast/", forecast.ForecastView.as_view(), name="forecast"),
    path("aircraft/<int:pk>/due/", forecast.AircraftDueView.as_view(), name="aircraft-due"),
    path("", include(router.urls)),
]
