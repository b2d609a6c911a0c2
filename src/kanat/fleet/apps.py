from django.apps import AppConfig


class FleetConfig(AppConfig):
    name = "kanat.fleet"
    label = "fleet"
    verbose_name = "Fleet and configuration"
