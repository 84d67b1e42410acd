"""What Django says about a user in the identity token.

``user_claims`` is the default: the user id, name, email, groups (as
``roles``), permissions and the staff/superuser flags. A project can add or
change claims with ``STRANGLER["IDENTITY"]["CLAIMS"]``, the import path of a
``(request, user) -> dict`` callable whose result is merged over these (a
claim set to ``None`` is removed).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils.module_loading import import_string

from ..conf import conf_cache, get_conf

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser
    from django.contrib.auth.models import AnonymousUser

ClaimsHook = Callable[[HttpRequest, Any], dict[str, Any]]

ANONYMOUS_CLAIMS: dict[str, Any] = {"anonymous": True}


def user_claims(user: AbstractBaseUser | AnonymousUser) -> dict[str, Any]:
    """The default claims for ``user``: ``{"anonymous": True}`` when nobody is logged in.

    Superusers get ``is_superuser: true`` and no permission list (they hold
    every permission; listing them all would bloat every token).
    """
    if not user.is_authenticated:
        return dict(ANONYMOUS_CLAIMS)
    is_superuser = bool(getattr(user, "is_superuser", False))
    roles, permissions = roles_and_permissions(user)
    email_field = user.get_email_field_name() if hasattr(user, "get_email_field_name") else "email"
    return {
        "sub": str(user.pk),
        "username": user.get_username(),
        "email": getattr(user, email_field, "") or "",
        "roles": roles,
        "permissions": [] if is_superuser else permissions,
        "is_staff": bool(getattr(user, "is_staff", False)),
        "is_superuser": is_superuser,
    }


_ROLES_CACHE_ENTRIES = 10_000
RolesCache = dict[Any, tuple[float, list[str], list[str]]]


@conf_cache
def roles_cache() -> RolesCache:
    """user pk -> (expiry on the monotonic clock, roles, permissions); new when settings change."""
    return {}


def roles_and_permissions(user: Any) -> tuple[list[str], list[str]]:
    """The user's group names and ``app_label.codename`` permissions, sorted.

    Reading them costs three queries, more than everything else a forwarded
    request does, so they are reused for ``IDENTITY["ROLES_CACHE"]`` seconds
    in this process. A change to groups or permissions made in this process
    clears the cache at once (signals below); other processes see it within
    ``ROLES_CACHE`` seconds. The user row itself (active, staff, superuser,
    password) is read fresh on every request.
    """
    ttl = get_conf()["IDENTITY"]["ROLES_CACHE"]
    now = time.monotonic()
    cache = roles_cache()
    if ttl:
        cached = cache.get(user.pk)
        if cached is not None and cached[0] > now:
            return cached[1], cached[2]
    groups = getattr(user, "groups", None)
    roles = sorted(groups.values_list("name", flat=True)) if groups is not None else []
    get_permissions = getattr(user, "get_all_permissions", None)
    is_superuser = bool(getattr(user, "is_superuser", False))
    permissions = sorted(get_permissions()) if get_permissions and not is_superuser else []
    if ttl:
        if len(cache) >= _ROLES_CACHE_ENTRIES:
            cache.clear()
        cache[user.pk] = (now + ttl, roles, permissions)
    return roles, permissions


def _touches_roles(model: Any) -> bool:
    label = getattr(getattr(model, "_meta", None), "label", "")
    return (
        label in ("auth.Group", "auth.Permission") or "_groups" in label or "_permissions" in label
    )


@receiver(m2m_changed)
@receiver(post_save)
@receiver(post_delete)
def forget_roles(sender: Any, **kwargs: Any) -> None:
    """Drop the cached roles when groups, permissions or memberships change here."""
    cache = roles_cache()
    if cache and (_touches_roles(sender) or _touches_roles(kwargs.get("model"))):
        cache.clear()


@conf_cache
def claims_hook() -> ClaimsHook | None:
    """The project's ``CLAIMS`` callable, imported once (None when not set)."""
    path = get_conf()["IDENTITY"]["CLAIMS"]
    if not path:
        return None
    hook: ClaimsHook = import_string(path)
    return hook


def build_claims(request: HttpRequest, user: AbstractBaseUser | AnonymousUser) -> dict[str, Any]:
    """The claims for ``user`` on ``request``: the defaults, then the project's hook."""
    claims = user_claims(user)
    hook = claims_hook()
    if hook is not None:
        for name, value in hook(request, user).items():
            if value is None:
                claims.pop(name, None)
            else:
                claims[name] = value
    return claims
