from django.urls import path

from kanat.inventory import views

app_name = "inventory"

urlpatterns = [
    path("stores/", views.stock, name="stock"),
    path("stores/items/<int:pk>/", views.item_detail, name="item_detail"),
    path("stores/orders/", views.po_list, name="po_list"),
    path("stores/orders/<int:pk>/", views.po_detail, name="po_detail"),
    path("stores/reorder/", views.reorder, name="reorder"),
]
