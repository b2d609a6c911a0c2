from django.apps import AppConfig


class MaintenanceConfig(AppConfig):
    name = "kanat.maintenance"
    label = "maintenance"
    verbose_name = "Maintenance programme and compliance"
