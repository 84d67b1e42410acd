from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "examples.labs.site.accounts"
    label = "accounts"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from .roles import follow_legacy_role

        user_logged_in.connect(follow_legacy_role, dispatch_uid="labs.follow_legacy_role")
