"""The legacy role (viewer, scientist, admin) as a Django group, refreshed at each login.

Flask keeps owning roles (its admin page changes them); Django needs them for
its own pages: the identity token carries Django's groups, and staff (the
status page, the admin) are the legacy admins.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group
from django.http import HttpRequest

from ..labs.models import LegacyUser

ROLES = ("viewer", "scientist", "admin")


def follow_legacy_role(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    legacy = LegacyUser.objects.filter(username=user.get_username()).first()
    if legacy is None or legacy.role not in ROLES:
        return
    user.groups.set([Group.objects.get_or_create(name=legacy.role)[0]])
    admin = legacy.role == "admin"
    if (user.is_staff, user.is_superuser) != (admin, admin):
        user.is_staff = user.is_superuser = admin
        user.save(update_fields=["is_staff", "is_superuser"])
