from __future__ import annotations

import pytest
from django.core.checks import run_checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings
from django.urls import path, re_path

from strangler.checks import dict_setting_errors
from tests.tls import TlsUpstream


def ids(**overrides: object) -> set[str]:
    with override_settings(**overrides):
        return {
            message.id
            for message in run_checks()
            if message.id and message.id.startswith("strangler.")
        }


def test_the_test_settings_are_clean() -> None:
    assert ids() == set()


@pytest.mark.parametrize(
    ("strangler", "expected"),
    [
        ("http://127.0.0.1:5000", "strangler.E001"),
        ({"UPSTREAM": "http://127.0.0.1:5000", "UPSTREM": "x"}, "strangler.E002"),
        ({"UPSTREAM": "127.0.0.1:5000"}, "strangler.E003"),
        ({"UPSTREAM": "http://u:p@127.0.0.1"}, "strangler.E003"),
        ({"UPSTREAM": "wsgi:no_such_module:app"}, "strangler.E004"),
        ({"ROUTES": {"api/**": "flask"}}, "strangler.E007"),
        ({"ROUTES": {"/api/**": "shadowy"}}, "strangler.E007"),
        ({"ROUTES": {"GET;POST /api/**": "django"}}, "strangler.E007"),
        ({"READ_TIMEOUT": 0}, "strangler.E008"),
        ({"CONNECT_TIMEOUT": "5"}, "strangler.E008"),
        ({"POOL_SIZE": 1.5}, "strangler.E112"),
        ({"POOL_SIZE": 0}, "strangler.E112"),
        ({"CHUNK_SIZE": True}, "strangler.E113"),
        ({"RETRIES": -1}, "strangler.E114"),
        ({"RETRIES": 1.0}, "strangler.E114"),
        ({"PRESERVE_HOST": "yes"}, "strangler.E009"),
        ({"RESPONSE_HEADERS": {"X-A": "1\r\nX-B: 2"}}, "strangler.E010"),
        ({"TRUSTED_PROXIES": "10.0.0.0/8"}, "strangler.E011"),
        ({"TRUSTED_PROXIES": ["10.0.0.0/8", "proxy.internal"]}, "strangler.E011"),
        ({"UPSTREAM_DOWN_AFTER": -1}, "strangler.E012"),
        ({"UPSTREAM_DOWN_AFTER": 2.5}, "strangler.E012"),
        ({"UPSTREAM_DOWN_AFTER": True}, "strangler.E012"),
        ({"UPSTREAM_COOL_OFF": 0}, "strangler.E013"),
        ({"UPSTREAM_COOL_OFF": "5"}, "strangler.E013"),
        ({"UPSTREAM_MAX_WAITING": 0}, "strangler.E014"),
        ({"UPSTREAM_MAX_WAITING": "4"}, "strangler.E014"),
        ({"UPSTREAM_CA_BUNDLE": True}, "strangler.E015"),
        ({"UPSTREAM_CA_BUNDLE": "/no/such/ca.pem"}, "strangler.E015"),
        ({"UPSTREAM_CA_BUNDLE": __file__}, "strangler.E015"),  # a file with no certificate
    ],
)
def test_misconfiguration_is_reported(strangler: object, expected: str) -> None:
    assert expected in ids(STRANGLER=strangler)


def test_fail_fast_settings_at_their_limits_are_accepted() -> None:
    found = ids(
        STRANGLER={"UPSTREAM_DOWN_AFTER": 0, "UPSTREAM_COOL_OFF": 0.5, "UPSTREAM_MAX_WAITING": 1}
    )
    assert found.isdisjoint({"strangler.E012", "strangler.E013", "strangler.E014"})


def test_a_ca_bundle_that_loads_is_accepted(tls_upstream: TlsUpstream) -> None:
    found = ids(
        STRANGLER={"UPSTREAM": tls_upstream.url, "UPSTREAM_CA_BUNDLE": tls_upstream.trusted}
    )
    assert "strangler.E015" not in found


def test_typo_gets_a_suggestion() -> None:
    with override_settings(STRANGLER={"UPSTREM": "http://x"}):
        [message] = [m for m in run_checks() if m.id == "strangler.E002"]
    assert message.hint == "Did you mean 'UPSTREAM'?"


@pytest.mark.parametrize(
    ("value", "optional", "message"),
    [
        ("x", False, "STRANGLER['X'] must be a dict, not str."),
        (["x"], True, "STRANGLER['X'] must be None or a dict, not list."),
    ],
)
def test_a_settings_dict_that_is_not_one(value: object, optional: bool, message: str) -> None:
    merged, errors = dict_setting_errors(
        "STRANGLER['X']", value, {"A": 1}, hint="h", not_a_dict="t.E1", unknown="t.E2",
        optional=optional,
    )  # fmt: skip
    assert merged is None
    assert [(e.msg, e.hint, e.id) for e in errors] == [(message, "h", "t.E1")]


def test_a_settings_dict_is_merged_and_its_unknown_keys_named() -> None:
    merged, errors = dict_setting_errors(
        "STRANGLER['X']", {"B": 2, "AA": 3}, {"A": 1, "B": 0}, hint="h", not_a_dict="t.E1",
        unknown="t.E2",
    )  # fmt: skip
    assert merged == {"A": 1, "B": 2, "AA": 3}
    assert [(e.msg, e.id) for e in errors] == [("STRANGLER['X'] has an unknown key 'AA'.", "t.E2")]
    assert errors[0].hint == "Did you mean 'A'?"


def test_middleware_missing_or_not_first(settings) -> None:
    stack = [m for m in settings.MIDDLEWARE if "Strangler" not in m]
    assert ids(MIDDLEWARE=stack) == {"strangler.E005"}
    assert ids(MIDDLEWARE=[stack[0], "strangler.middleware.StranglerMiddleware", *stack[1:]]) == {
        "strangler.W001"
    }


def catch_all_view(request):  # pragma: no cover - never called
    raise AssertionError


urlpatterns = [path("ported/", catch_all_view), re_path(r"^.*$", catch_all_view)]


def test_catch_all_urlconf_is_reported() -> None:
    assert "strangler.W002" in ids(ROOT_URLCONF=__name__)


def test_manage_py_check_fails_on_errors() -> None:
    with (
        override_settings(STRANGLER={"UPSTREAM": "nope"}),
        pytest.raises(SystemCheckError, match=r"strangler\.E003"),
    ):
        call_command("check")


@pytest.mark.parametrize(
    ("flask_app", "expected", "says"),
    [
        ("tests.no_such_module:app", "strangler.E060", "No module named 'tests.no_such_module'"),
        ("tests.porting_app:ap", "strangler.E061", "has no attribute 'ap'"),
        ("tests.porting_app:jsonify", "strangler.E061", "not a Flask app"),
        ("tests.broken_flask_app:app", "strangler.E060", "ZeroDivisionError"),
    ],
)
def test_flask_app_that_cannot_be_loaded(flask_app: str, expected: str, says: str) -> None:
    with override_settings(STRANGLER={"FLASK_APP": flask_app}):
        messages = [m for m in run_checks() if m.id == expected]
    assert len(messages) == 1
    assert says in messages[0].msg


def test_flask_app_that_loads_is_clean() -> None:
    assert ids(STRANGLER={"FLASK_APP": "tests.porting_app:app"}) == set()


def test_switch_settings() -> None:
    assert "strangler.E062" in ids(STRANGLER={"SWITCH_TTL": 0})
    assert "strangler.E062" in ids(STRANGLER={"SWITCH_TTL": "5"})
    assert "strangler.E063" in ids(STRANGLER={"CACHE": "shared"})
    assert "strangler.E064" in ids(STRANGLER={"METRICS_TOKEN": "short"})
    assert "strangler.E064" not in ids(STRANGLER={"METRICS_TOKEN": "x" * 16})
    local = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    assert "strangler.W060" in ids(CACHES=local)
    redis = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:6379",
        }
    }
    assert "strangler.W060" not in ids(CACHES=redis)
