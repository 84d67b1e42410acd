"""Who a shadowed request ran as, as plain data (strangler/shadow/ran_as.py)."""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import RequestFactory
from django.utils.functional import SimpleLazyObject

from strangler.shadow.ran_as import RanAs, settle

pytestmark = pytest.mark.django_db


def request_as(user: Any, cookie: str = "sessionid=abc", authorization: str = "") -> Any:
    request = RequestFactory().get(
        "/api/whoami", HTTP_COOKIE=cookie, HTTP_AUTHORIZATION=authorization
    )
    if user is not None:
        # As AuthenticationMiddleware sets it: lazily.
        request.user = SimpleLazyObject(lambda: user)  # type: ignore[assignment]
    return request


def sent(value: RanAs | None) -> RanAs | None:
    """Through pickle, as to the shadow child process."""
    return pickle.loads(pickle.dumps(value))


def test_a_user_travels_as_its_key_and_is_read_back(django_user_model: Any) -> None:
    ada = django_user_model.objects.create_user("ada")
    ran_as = sent(settle(request_as(ada)))
    assert ran_as == RanAs(pk=ada.pk)  # the key, not the object (nor its password hash)
    user = ran_as.user()
    assert (user.pk, user.get_username(), user.is_authenticated) == (ada.pk, "ada", True)


def test_a_user_deleted_since_is_nobody(django_user_model: Any) -> None:
    ada = django_user_model.objects.create_user("ada")
    ran_as = settle(request_as(ada))
    ada.delete()
    assert ran_as is not None
    assert ran_as.user().is_authenticated is False


def test_anonymous_is_a_marker_and_no_user_set_is_none() -> None:
    ran_as = sent(settle(request_as(AnonymousUser())))
    assert ran_as == RanAs()
    assert isinstance(ran_as.user(), AnonymousUser)
    assert settle(request_as(None)) is None  # the worker's load_user reads the session


@dataclass(frozen=True)
class OtherUser:
    name: str
    is_authenticated: bool = True


def test_a_user_of_another_kind_travels_as_it_is() -> None:
    ran_as = sent(settle(request_as(OtherUser("svc"))))
    assert ran_as is not None
    assert ran_as.user() == OtherUser("svc")


def test_an_unread_user_of_a_cookieless_request_is_left_to_the_worker(
    django_user_model: Any,
) -> None:
    ada = django_user_model.objects.create_user("ada")
    request = request_as(ada, cookie="")
    # Nothing read it, and no cookie can name anyone: the worker's load_user finds
    # "anonymous" from the environ alone, so it is not read here.
    assert settle(request) is None
    read = request_as(ada, cookie="")
    assert read.user.is_authenticated  # a view read it: that is who the request ran as
    assert settle(read) == RanAs(pk=ada.pk)


def test_an_unread_user_of_a_request_with_credentials_in_a_header_is_read(
    django_user_model: Any,
) -> None:
    # No cookie, but an Authorization header a middleware may log someone in from.
    ada = django_user_model.objects.create_user("ada")
    request = request_as(ada, cookie="", authorization="Basic YWRhOnNlY3JldA==")
    assert settle(request) == RanAs(pk=ada.pk)
