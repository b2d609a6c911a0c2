from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "kanat.core"
    label = "core"
    verbose_name = "Hub, operators and users"
