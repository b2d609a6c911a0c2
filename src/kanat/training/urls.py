"""Training pages: the catalogue, sessions, proposals, reminders, the transfer dashboard."""

from django.urls import path

from kanat.training import views, views_dashboard, views_matrix

app_name = "training"

urlpatterns: list = [
    # course and session pages (kanat.training.views)
    path("training/courses/", views.course_list, name="course_list"),
    path("training/courses/<int:pk>/", views.course_detail, name="course_detail"),
    path("training/sessions/<int:pk>/", views.session_detail, name="session_detail"),
    path("training/proposals/", views.proposals, name="proposals"),
    path("training/due/", views.due, name="due"),
    # the team competence matrix (kanat.training.views_matrix)
    path("training/matrix/", views_matrix.matrix, name="matrix"),
    # the transfer dashboard (kanat.training.views_dashboard)
    path("training/dashboard/", views_dashboard.dashboard_page, name="dashboard"),
    path("training/dashboard.csv", views_dashboard.dashboard_csv, name="dashboard_csv"),
    path("training/dashboard.pdf", views_dashboard.dashboard_pdf, name="dashboard_pdf"),
]
