"""``STRANGLER["SHADOW"]`` and its checks (strangler/shadow/settings.py, checks.py)."""

from __future__ import annotations

from typing import Any

import pytest
from pytest_django.fixtures import Settings as SettingsWrapper

from strangler.conf import SHADOW_DEFAULTS
from strangler.shadow.channel import sidecar_supported
from strangler.shadow.checks import check_shadow
from strangler.shadow.settings import ShadowConfigError, parse_shadow, shadow_settings


def parsed(**shadow: Any) -> Any:
    return parse_shadow({**SHADOW_DEFAULTS, **shadow})


def test_defaults_parse_and_every_route_is_sampled_fully() -> None:
    conf = parsed()
    rule = conf.rule_for("/anything")
    assert rule.sample == 1.0
    assert rule.allows("GET")
    assert rule.allows("HEAD")
    assert not rule.allows("POST")


def test_a_route_rule_overrides_the_default_and_keeps_the_global_ignores() -> None:
    conf = parsed(
        IGNORE=["body.at"],
        ROUTES={"/api/notes": {"SAMPLE": 0.25, "METHODS": ["POST"], "IGNORE": ["body.id"]}},
    )
    rule = conf.rule_for("/api/notes")
    assert rule.sample == 0.25
    assert rule.allows("POST")
    assert not rule.allows("DELETE")
    assert rule.ignore.covers(("body", "at"))
    assert rule.ignore.covers(("body", "id"))
    assert conf.rule_for("/api/other").sample == 1.0


@pytest.mark.parametrize(
    ("shadow", "check_id", "message"),
    [
        ({"SAMPLE": 1.5}, "strangler.E071", "SAMPLE"),
        ({"SAMPLE": True}, "strangler.E071", "SAMPLE"),
        ({"WORKERS": 0}, "strangler.E071", "WORKERS"),
        ({"IGNORE": "body.at"}, "strangler.E070", "IGNORE"),
        ({"SAMPLES": 1}, "strangler.E070", "unknown keys ['SAMPLES']"),
        ({"ROUTES": {"/a": 0.5}}, "strangler.E072", "must be a dict"),
        ({"ROUTES": {"/a": {"RATE": 1}}}, "strangler.E072", "unknown keys ['RATE']"),
        ({"ROUTES": {"/a": {"METHODS": ["post"]}}}, "strangler.E072", "upper-case"),
        ({"ROUTES": {"a/": {}}}, "strangler.E073", "must be a path"),
        ({"IGNORE": ["body..at"]}, "strangler.E073", "cannot be read"),
        ({"PROCESS": "yes"}, "strangler.E074", "True, False or None"),
    ],
)
def test_bad_values_are_reported_by_id_with_a_hint(
    settings: SettingsWrapper, shadow: dict[str, Any], check_id: str, message: str
) -> None:
    with pytest.raises(ShadowConfigError, match=message.replace("[", r"\[")):
        parsed(**shadow)
    settings.STRANGLER = {**settings.STRANGLER, "SHADOW": shadow}
    [error] = check_shadow()
    assert error.id == check_id
    assert message in error.msg
    assert error.hint


def test_shadow_not_a_dict(settings: SettingsWrapper) -> None:
    settings.STRANGLER = {**settings.STRANGLER, "SHADOW": ["SAMPLE"]}
    [error] = check_shadow()
    assert error.id == "strangler.E070"
    with pytest.raises(ShadowConfigError):
        shadow_settings()


def test_opting_a_write_in_is_warned_about(settings: SettingsWrapper) -> None:
    settings.STRANGLER = {
        **settings.STRANGLER,
        "SHADOW": {"ROUTES": {"/api/notes": {"METHODS": ["GET", "POST", "DELETE"]}}},
    }
    [warning] = check_shadow()
    assert warning.id == "strangler.W070"
    assert "DELETE, POST" in warning.msg


def test_a_good_setting_passes(settings: SettingsWrapper) -> None:
    settings.STRANGLER = {
        **settings.STRANGLER,
        "SHADOW": {"SAMPLE": 0.1, "IGNORE": ["header.date"]},
    }
    assert check_shadow() == []


def test_process_defaults_to_a_child_process_where_the_platform_has_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert parsed().process is sidecar_supported()
    assert parsed(PROCESS=False).process is False
    monkeypatch.setattr("strangler.shadow.settings.sidecar_supported", lambda: False)
    assert parsed().process is False
    with pytest.raises(ShadowConfigError, match="no AF_UNIX SOCK_SEQPACKET") as raised:
        parsed(PROCESS=True)
    assert raised.value.check_id == "strangler.E074"
