from django.apps import AppConfig


class FlightDataConfig(AppConfig):
    name = "kanat.flightdata"
    label = "flightdata"
    verbose_name = "Flight logs and findings"
