"""The test project under uvicorn, for the ASGI tests and the live forwarding suite."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import ROOT, Front, free_port, wait_for_port


class AsgiFront(Front):
    """The test project under uvicorn: one process, which is also the worker."""

    def pid_of_worker(self) -> int:
        return self.process.pid


def start_asgi_front(
    upstream_url: str,
    extra_env: dict[str, str] | None = None,
    app: str = "tests.asgi.application:application",
) -> AsgiFront:
    """uvicorn serving ``app`` on a free port of 127.0.0.1, forwarding to ``upstream_url``."""
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.asgi.settings",
        "STRANGLER_TEST_UPSTREAM": upstream_url,
        "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "src")]),
        **(extra_env or {}),
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--lifespan",
            "on",
            # Flask's own Server and Date headers are forwarded; uvicorn's would double them.
            "--no-server-header",
            "--no-date-header",
            app,
        ],
        cwd=ROOT,
        env=env,
    )
    wait_for_port(port, process)
    return AsgiFront(port, process)


def stop(front: Front) -> None:
    front.process.terminate()
    front.process.wait(timeout=10)
