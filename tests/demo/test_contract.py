"""`manage.py strangler_contract` proves the legacy package never imports Django.

import-linter analyses a top-level package: ``manage.py`` sits beside the
legacy app, so its directory is on the path and the app is the package
``legacy``, as it is deployed on its own.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

LABS = ROOT / "examples" / "labs"


def contract(var: Path, labs: Path = LABS) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ["PATH"], "LABS_VAR": str(var), "PYTHONPATH": str(ROOT / "src")}
    return subprocess.run(
        [sys.executable, str(labs / "manage.py"), "strangler_contract", "--package", "legacy"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_the_legacy_app_keeps_the_contract(tmp_path: Path) -> None:
    result = contract(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


def test_importing_the_django_side_breaks_it(tmp_path: Path) -> None:
    """A legacy helper importing the toolkit's Django side (which imports Django) is caught."""
    copy = tmp_path / "code" / "examples"
    shutil.copytree(ROOT / "examples", copy, ignore=shutil.ignore_patterns("var", "__pycache__"))
    legacy = copy / "labs" / "legacy"
    (legacy / "timing.py").write_text("from strangler import middleware\n")
    views = legacy / "views.py"
    views.write_text(views.read_text() + "\nfrom . import timing  # noqa: E402\n")
    result = contract(tmp_path, copy / "labs")
    assert result.returncode == 1
    assert "legacy is not allowed to import strangler.middleware" in result.stdout
    assert "legacy.timing -> strangler.middleware" in result.stdout
    assert "legacy imports Django" in result.stderr
