from django.apps import AppConfig


class PeopleConfig(AppConfig):
    name = "kanat.people"
    label = "people"
    verbose_name = "People, qualifications and authorisations"
