"""The ``strangler`` Django app."""

from __future__ import annotations

from django.apps import AppConfig, apps


class StranglerConfig(AppConfig):
    """Registers the system checks and identity's signer with the forwarding core."""

    name = "strangler"
    verbose_name = "Strangler"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import (
            asgi_checks,  # noqa: F401  (registers the ASGI checks: E080-E089)
            checks,  # noqa: F401  (registers the checks)
            switches,  # noqa: F401  (publishes switch changes)
        )
        from .db import checks as db_checks  # noqa: F401  (database side: E040-E059)
        from .forwarding.signing import register_signer
        from .identity import checks as identity_checks  # noqa: F401  (E020-E039)
        from .identity.issuer import IdentitySigner
        from .shadow import checks as shadow_checks  # noqa: F401  (E070-E079)

        register_signer(IdentitySigner())
        if apps.is_installed("django.contrib.auth"):
            # The cut-over ends a user's Flask login when they log into or out of Django.
            from .identity import cutover  # noqa: F401  (connects its signal receivers)
