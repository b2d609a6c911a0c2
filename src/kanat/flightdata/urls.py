from django.urls import path

from kanat.flightdata import views

app_name = "flightdata"

urlpatterns = [
    path("logs/", views.log_list, name="log_list"),
    path("logs/upload/", views.upload, name="upload"),
    path("logs/<int:pk>/", views.log_detail, name="log_detail"),
    path("logs/findings/<int:pk>/defect/", views.finding_defect, name="finding_defect"),
]
