from django.apps import AppConfig


class AdoptAppConfig(AppConfig):
    name = "tests.db.adopt_app"
    label = "strangler_adopt"
    default_auto_field = "django.db.models.AutoField"
