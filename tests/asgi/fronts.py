"""The test project under uvicorn, for the ASGI tests and the live forwarding suite."""

from __future__ import annotations

from tests.conftest import Front, launch_front


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

    def uvicorn(port: int) -> list[str]:
        return [
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
        ]

    return launch_front(AsgiFront, uvicorn, "tests.asgi.settings", upstream_url, extra_env)
