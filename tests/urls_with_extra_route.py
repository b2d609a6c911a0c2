"""The project's routes plus one the tenancy walk does not know (for its own test)."""

from django.http import HttpResponse
from django.urls import include, path

urlpatterns = [
    path("extra/<int:pk>/", lambda request, pk: HttpResponse("x"), name="extra-report"),
    path("", include("kanat.urls")),
]
