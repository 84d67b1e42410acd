"""`make demo` works: the demo starts, forwards and answers, then stops."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, free_port


@pytest.mark.timeout(90)
def test_demo_smoke(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "examples/labs/run_demo.py"),
            "--smoke",
            "--flask-port",
            str(free_port()),
            "--django-port",
            str(free_port()),
        ],
        env={"PATH": "/usr/bin:/bin", "LABS_DATABASE": str(tmp_path / "labs.sqlite3")},
        capture_output=True,
        text=True,
        timeout=80,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "demo: ok" in result.stdout
