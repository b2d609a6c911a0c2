from django.urls import path

from kanat.production import views, views_fai, views_transfer

app_name = "production"

urlpatterns = [
    path("production/localisation/", views_transfer.localisation, name="localisation"),
    path("production/boms/", views.bom_list, name="bom_list"),
    path("production/boms/<int:pk>/", views.bom_detail, name="bom_detail"),
    path("production/routings/<int:pk>/", views.routing_detail, name="routing_detail"),
    path("production/orders/", views.order_board, name="order_board"),
    path("production/orders/<int:pk>/", views.order_detail, name="order_detail"),
    path("production/ncrs/", views.ncr_list, name="ncr_list"),
    path("production/fai/", views_fai.fai_list, name="fai_list"),
    path("production/fai/<int:pk>/", views_fai.fai_detail, name="fai_detail"),
]
