from django.urls import path

from kanat.maintenance import views

app_name = "maintenance"

urlpatterns = [
    path("due/", views.due_list, name="due_list"),
    path("aircraft/<int:pk>/due/", views.aircraft_due, name="aircraft_due"),
    path("planning/", views.planning, name="planning"),
]
