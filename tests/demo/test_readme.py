"""README's quickstart works when pasted: its shell blocks, run as written.

Only what must differ in a test is changed: the package comes from this
checkout's environment instead of ``pip install``, the ports are free ones,
and each ``sleep`` waits for the server instead of a fixed time.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT, free_port


def quickstart_blocks() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.*?)```", section, re.S)


def test_quickstart_as_pasted(tmp_path: Path) -> None:
    blocks = quickstart_blocks()
    assert len(blocks) == 2
    flask_port, django_port = free_port(), free_port()
    script = "\n".join(blocks)
    install = (
        "python3 -m venv venv && . venv/bin/activate\n"
        'pip install "django-strangler[django,flask]" gunicorn\n'
    )
    assert script.startswith(install)
    script = script[len(install) :]
    script = script.replace("5000", str(flask_port)).replace("8000", str(django_port))
    # The first sleep waits for both servers, the second for the reloaded workers.
    probe = f"curl -s http://127.0.0.1:{django_port}/hello/x"
    waits = [f"{probe} | grep -q Flask", f"{probe} | grep -q Django"]
    assert script.count("sleep 2") == 2
    for condition in waits:
        loop = f"for i in $(seq 150); do {condition} && break; sleep 0.2; done"
        script = script.replace("sleep 2", loop, 1)
    env = {
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "HOME": str(tmp_path),
        "PYTHONPATH": str(ROOT / "src"),  # what `pip install` provides
    }
    try:
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script],
            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
    finally:
        for name in ("django.pid", "flask.pid"):
            if (tmp_path / name).exists():
                os.kill(int((tmp_path / name).read_text()), signal.SIGTERM)
    assert result.returncode == 0, result.stderr
    # Django's admin answered its own URL (the `curl -I` of step 3).
    assert "Location: /admin/login/?next=/admin/" in result.stdout
    assert [line for line in result.stdout.splitlines() if line.startswith("Hello")] == [
        "Hello ada, from Flask",
        "Hello ada, from Django",
        "Hello from Flask",
    ], result.stdout + result.stderr
