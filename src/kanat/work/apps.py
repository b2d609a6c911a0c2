from django.apps import AppConfig


class WorkConfig(AppConfig):
    name = "kanat.work"
    label = "work"
    verbose_name = "Maintenance execution"
