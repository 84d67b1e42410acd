"""What Django says about a user in the identity token.

``user_claims`` is the default: the user id, name, email, groups (as
``roles``), permissions and the staff/superuser flags. A project can add or
change claims with ``STRANGLER["IDENTITY"]["CLAIMS"]``, the import path of a
``(request, user) -> dict`` callable whose result is merged over these (a
claim set to ``None`` is removed).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

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
    groups = getattr(user, "groups", None)
    roles = sorted(groups.values_list("name", flat=True)) if groups is not None else []
    get_permissions = getattr(user, "get_all_permissions", None)
    permissions = sorted(get_permissions()) if get_permissions and not is_superuser else []
    email_field = user.get_email_field_name() if hasattr(user, "get_email_field_name") else "email"
    return {
        "sub": str(user.pk),
        "username": user.get_username(),
        "email": getattr(user, email_field, "") or "",
        "roles": roles,
        "permissions": permissions,
        "is_staff": bool(getattr(user, "is_staff", False)),
        "is_superuser": is_superuser,
    }


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
