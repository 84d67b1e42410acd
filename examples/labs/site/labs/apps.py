from django.apps import AppConfig


class LabsConfig(AppConfig):
    name = "examples.labs.site.labs"
    label = "labs"
    verbose_name = "Labs (adopted from the legacy app)"
