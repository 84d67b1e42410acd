"""Item 1 of issue 8: the database tools run in a project without the front door."""

from __future__ import annotations

import io
import subprocess

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

from tests.db.conftest import run_python, subprocess_env

TOOLS_ONLY = {"SQLALCHEMY_METADATA": "tests.db.legacy.models:Base"}


def manage(*args: str) -> subprocess.CompletedProcess[str]:
    """``django-admin ARGS`` with the tools-only settings, as a user runs it."""
    env = subprocess_env(DJANGO_SETTINGS_MODULE="tests.db.tools_only_settings")
    return run_python(["-m", "django", *args], env)


def test_check_and_strangler_models_run_without_the_middleware() -> None:
    check = manage("check")
    assert check.returncode == 0, check.stderr
    assert "strangler.E005" not in check.stdout + check.stderr
    models = manage("strangler_models", "--schema", "stga_labs")
    assert models.returncode == 0, models.stderr
    assert "class Sample(models.Model):" in models.stdout


@pytest.mark.django_db
def test_safemigrate_plan_runs_its_checks_without_the_middleware(settings) -> None:
    stack = [m for m in settings.MIDDLEWARE if "Strangler" not in m]
    with override_settings(MIDDLEWARE=stack, STRANGLER=TOOLS_ONLY):
        call_command("safemigrate", "--plan", skip_checks=False, verbosity=0)


def test_forwarding_keys_still_need_the_middleware(settings) -> None:
    # Setting where Flask lives means forwarding is wanted: then the middleware is missing.
    stack = [m for m in settings.MIDDLEWARE if "Strangler" not in m]
    forwarding = {**TOOLS_ONLY, "UPSTREAM": "http://127.0.0.1:5000"}
    with (
        override_settings(MIDDLEWARE=stack, STRANGLER=forwarding),
        pytest.raises(SystemCheckError, match=r"strangler\.E005"),
    ):
        call_command("strangler_models", skip_checks=False, stdout=io.StringIO())
