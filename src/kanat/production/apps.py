from django.apps import AppConfig


class ProductionConfig(AppConfig):
    name = "kanat.production"
    label = "production"
