from django.urls import path

from kanat.work import views

app_name = "work"

urlpatterns = [
    path("work/", views.board, name="board"),
    path("work/packages/new/", views.package_create, name="package_create"),
    path("work/packages/<int:pk>/", views.package_detail, name="package_detail"),
    path("work/cards/<int:pk>/", views.card_detail, name="card_detail"),
    path("work/cards/<int:pk>/card.pdf", views.card_pdf, name="card_pdf"),
    path("work/cards/<int:pk>/to-stores/", views.card_to_stores, name="card_to_stores"),
    path("work/defects/", views.defect_list, name="defect_list"),
    path("work/defects/<int:pk>/", views.defect_detail, name="defect_detail"),
]
