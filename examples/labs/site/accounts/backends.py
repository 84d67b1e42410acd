"""Log in with the legacy app's users and passwords; each gets a Django user on first login."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import AbstractBaseUser, Group, User
from django.http import HttpRequest
from werkzeug.security import check_password_hash

from ..labs.models import LegacyUser

ROLES = ("viewer", "scientist", "admin")


class LegacyUserBackend(ModelBackend):
    """Django's own users first; else the legacy users table, checked with Werkzeug.

    A legacy user who logs in gets a Django user of the same username (the
    identity token names it, and Flask finds its own user by that name) with
    the password stored in Django's hasher: the legacy hash is verified once
    and upgraded. The legacy role becomes a Django group; admins are staff.
    """

    def authenticate(
        self,
        request: HttpRequest | None,
        username: str | None = None,
        password: str | None = None,
        **kwargs: Any,
    ) -> AbstractBaseUser | None:
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is not None or not username or not password:
            return user
        legacy = LegacyUser.objects.filter(username=username, active=True).first()
        if legacy is None or not check_password_hash(legacy.password_hash, password):
            return None
        if User.objects.filter(username=username).exclude(password="").exists():
            return None  # already moved to Django: only Django's password counts now
        django_user, _ = User.objects.get_or_create(username=username)
        django_user.email = legacy.email
        django_user.is_staff = django_user.is_superuser = legacy.role == "admin"
        django_user.set_password(password)
        django_user.save()
        if legacy.role in ROLES:
            django_user.groups.set([Group.objects.get_or_create(name=legacy.role)[0]])
        return django_user if self.user_can_authenticate(django_user) else None
