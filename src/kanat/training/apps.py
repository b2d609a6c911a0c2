from django.apps import AppConfig


class TrainingConfig(AppConfig):
    name = "kanat.training"
    label = "training"
    verbose_name = "Training, on-the-job evidence and staged authorisation"
