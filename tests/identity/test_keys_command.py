"""``manage.py strangler_keys`` (strangler/management/commands/strangler_keys.py)."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from django.core.management import call_command

from strangler.identity.flask import build_verifier
from strangler.identity.tokens import TokenSigner, load_signing_key


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("strangler_keys", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.mark.parametrize("algorithm", ["EdDSA", "ES256", "HS256"])
@pytest.mark.parametrize("kid", [None, "2026-11"])
def test_printed_settings_work_on_both_sides(algorithm: str, kid: str | None) -> None:
    out, err = run("--algorithm", algorithm, *(["--kid", kid] if kid else []))
    django_part, _, flask_part = out.partition("\n\n")
    django_ns: dict[str, Any] = {"STRANGLER": {}}
    exec(django_part, django_ns)
    flask_ns: dict[str, Any] = {}
    exec(flask_part, flask_ns)
    identity = django_ns["STRANGLER"]["IDENTITY"]
    assert identity["ALGORITHM"] == algorithm
    signing = load_signing_key(algorithm, identity["SIGNING_KEY"], identity.get("KEY_ID"))
    signer = TokenSigner(signing, issuer="django", audience="flask", lifetime=60)
    verifier = build_verifier(
        {
            "STRANGLER_VERIFYING_KEYS": flask_ns["STRANGLER_VERIFYING_KEYS"],
            "STRANGLER_ALGORITHMS": flask_ns["STRANGLER_ALGORITHMS"],
            "STRANGLER_ISSUER": "django",
            "STRANGLER_AUDIENCE": "flask",
            "STRANGLER_LEEWAY": 5,
            "STRANGLER_MAX_TOKEN_SIZE": 8192,
        }
    )
    token = signer.mint({"sub": "1"}, method="GET", target="/")
    assert verifier.verify(token, method="GET", binding="/")["sub"] == "1"
    if kid:
        assert list(flask_ns["STRANGLER_VERIFYING_KEYS"]) == [kid]
    if algorithm == "HS256":
        assert "Flask could mint tokens" in err
    else:
        assert "PRIVATE KEY" not in flask_part
        assert err == ""


def test_every_run_makes_a_new_key() -> None:
    assert run()[0] != run()[0]


def test_json_output() -> None:
    document = json.loads(run("--json", "--kid", "k1")[0])
    assert document["algorithm"] == "EdDSA"
    assert document["kid"] == "k1"
    assert "PRIVATE KEY" in document["private_key"]
    assert "PUBLIC KEY" in document["public_key"]


def test_help_explains_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        call_command("strangler_keys", "--help")
    text = capsys.readouterr().out
    for phrase in ("--algorithm", "EdDSA", "--kid", "--json", "rotate", "public key"):
        assert phrase in text


def test_unknown_algorithm_is_refused() -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("strangler_keys", "--algorithm", "RS256")
