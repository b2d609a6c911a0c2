from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/", include("kanat.api.urls")),
    path("", include("kanat.maintenance.urls")),
    path("", include("kanat.work.urls")),
    path("", include("kanat.inventory.urls")),
    path("", include("kanat.production.urls")),
    path("", include("kanat.flightdata.urls")),
    path("", include("kanat.people.urls")),
    path("", include("kanat.training.urls")),
    path("", include("kanat.fleet.urls")),
]
