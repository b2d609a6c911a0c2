from django.urls import path

from kanat.fleet import views

app_name = "fleet"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("aircraft/<int:pk>/", views.aircraft_detail, name="aircraft_detail"),
    path("parts/", views.part_list, name="part_list"),
    path("parts/<int:pk>/", views.part_detail, name="part_detail"),
]
