from django.apps import AppConfig


class InstrumentsConfig(AppConfig):
    name = "examples.labs.site.instruments"
    label = "instruments"
