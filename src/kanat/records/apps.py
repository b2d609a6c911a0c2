from django.apps import AppConfig


class RecordsConfig(AppConfig):
    name = "kanat.records"
    label = "records"
    verbose_name = "Signed records and their hash chains"
