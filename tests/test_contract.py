"""strangler_contract: import-linter run for real on a clean and a leaky Flask package."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from strangler.contract import django_side_modules

PACKAGES = Path(__file__).parent / "contract_packages"


@pytest.fixture
def on_path(monkeypatch):
    monkeypatch.syspath_prepend(str(PACKAGES))


def test_the_flask_side_is_allowed_and_the_rest_forbidden() -> None:
    forbidden = django_side_modules()
    assert "strangler.routing" in forbidden
    assert "strangler.identity.issuer" in forbidden
    assert "strangler.forwarding" in forbidden
    for allowed in ("strangler.flask", "strangler.identity.flask", "strangler.identity.tokens"):
        assert allowed not in forbidden


def test_a_clean_flask_package_passes(on_path, capsys) -> None:
    call_command("strangler_contract", "--package", "clean_legacy")
    assert "KEPT" in capsys.readouterr().out


def test_an_indirect_import_of_the_django_side_fails(on_path, capsys) -> None:
    with pytest.raises(SystemExit) as exited:
        call_command("strangler_contract", "--package", "leaky_legacy")
    assert exited.value.code == 1
    captured = capsys.readouterr()
    assert "BROKEN" in captured.out
    assert "leaky_legacy.helpers" in captured.out
    assert "must not" in captured.err


def test_print_gives_a_pyproject_contract(on_path, capsys) -> None:
    call_command("strangler_contract", "--package", "clean_legacy", "--print")
    out = capsys.readouterr().out
    assert out.startswith('[tool.importlinter]\nroot_packages = ["clean_legacy", "strangler"]')
    assert '    "django",' in out


def test_the_package_comes_from_flask_app_or_is_a_clear_error(settings, on_path) -> None:
    with pytest.raises(CommandError, match="Set STRANGLER\\['FLASK_APP'\\]"):
        call_command("strangler_contract")
    with pytest.raises(CommandError, match="No importable package 'nope_legacy'"):
        call_command("strangler_contract", "--package", "nope_legacy")
    settings.STRANGLER = {**settings.STRANGLER, "FLASK_APP": "clean_legacy:app"}
    call_command("strangler_contract")


def test_the_flask_side_matches_the_projects_own_contract() -> None:
    import tomllib

    config = tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text())
    [own] = [c for c in config["tool"]["importlinter"]["contracts"] if c["type"] == "forbidden"]
    from strangler.contract import FLASK_SIDE

    assert set(own["source_modules"]) == FLASK_SIDE - {"strangler", "strangler.identity"}
    assert "django" in own["forbidden_modules"]
