from django.apps import AppConfig


class SchemaAppConfig(AppConfig):
    name = "tests.db.schema_app"
    label = "strangler_schemas"
    default_auto_field = "django.db.models.BigAutoField"
