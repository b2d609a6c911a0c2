from django.urls import path

from kanat.production import views

app_name = "production"

urlpatterns = [
    path("production/boms/", views.bom_list, name="bom_list"),
    path("production/boms/<int:pk>/", views.bom_detail, name="bom_detail"),
    path("production/routings/<int:pk>/", views.routing_detail, name="routing_detail"),
]
