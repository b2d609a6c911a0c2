from django.apps import AppConfig


class InventoryConfig(AppConfig):
    name = "kanat.inventory"
    label = "inventory"
