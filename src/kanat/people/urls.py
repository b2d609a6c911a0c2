from django.urls import path

from kanat.people import views

app_name = "people"

urlpatterns = [
    path("people/", views.people, name="people"),
    path("people/<int:pk>/", views.person, name="person"),
]
