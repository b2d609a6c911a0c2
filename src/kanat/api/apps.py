from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "kanat.api"
    label = "api"
    verbose_name = "REST API"
