"""Fixtures of the reliability tests: Flask in its own process, fronts before it, a load client.

Flask runs under gunicorn in a subprocess so a test can kill it, stop it
(SIGSTOP: it accepts connections and never answers) and restart it on the
same port while a front is under load. Fronts are the test project under
gunicorn (one gthread worker, as ``tests.conftest.start_front`` starts them)
with ``front_settings``; ``FRONTS`` names the four ways in: the middleware or
the WSGI fast path, before Flask over HTTP or in-process.
"""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import ROOT, Front, free_port, start_front, wait_for_port

IN_PROCESS = "wsgi:tests.reliability.legacy:app"
ENTRIES = {"middleware": "tests.wsgi:application", "fast": "tests.wsgi_fast:application"}


@dataclass
class FlaskProcess:
    """The legacy app on 127.0.0.1:``port`` in a process of its own."""

    port: int
    count_file: Path
    process: subprocess.Popen[bytes] | None = None
    restarts: int = field(default=0)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "src")]),
            "STRANGLER_TEST_COUNT_FILE": str(self.count_file),
        }
        # gunicorn, not Werkzeug's development server: that one closes every
        # connection, and the front's pool of kept-alive connections is what
        # a dying upstream puts to the test. A session of its own, so one
        # signal reaches the master and its worker at once.
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                "1",
                "--worker-class",
                "gthread",
                "--threads",
                "32",
                "--keep-alive",
                "5",
                "--log-level",
                "warning",
                "tests.reliability.legacy:app",
            ],
            cwd=ROOT,
            env=env,
            start_new_session=True,
        )
        wait_for_port(self.port, self.process)
        # The master listens before its worker has booted: ready is when Flask answers.
        wait_until_answering(self.port, "/r/blob?size=1")

    def _signal(self, signum: int) -> None:
        assert self.process is not None
        os.killpg(self.process.pid, signum)

    def kill(self) -> None:
        """SIGKILL: connections die mid-request, as when a host or container dies."""
        assert self.process is not None
        self._signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        # The worker is in the group too; until it is gone it holds the port.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.killpg(self.process.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.01)
        raise AssertionError(f"Flask's process group {self.process.pid} outlived SIGKILL")

    def restart(self) -> None:
        self.kill()
        self.restarts += 1
        self.start()

    def pause(self) -> None:
        """SIGSTOP: the kernel still accepts connections, nothing ever answers."""
        self._signal(signal.SIGSTOP)

    def resume(self) -> None:
        self._signal(signal.SIGCONT)

    def counted_ids(self) -> list[str]:
        """The ids of every POST /r/count the app processed, across restarts."""
        if not self.count_file.exists():
            return []
        return self.count_file.read_text().split()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.resume()
            self._signal(signal.SIGTERM)
            self.process.wait(timeout=30)


@pytest.fixture(scope="module")
def flask_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FlaskProcess]:
    """The legacy app served by gunicorn in a subprocess, for one test module."""
    server = FlaskProcess(free_port(), tmp_path_factory.mktemp("flask") / "counted")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def paused_flask(flask_process: FlaskProcess) -> Iterator[FlaskProcess]:
    """The Flask process stopped (SIGSTOP) for one test, resumed after it."""
    flask_process.pause()
    yield flask_process
    flask_process.resume()


def start_reliability_front(
    upstream: str,
    entry: str,
    *,
    read_timeout: float = 10.0,
    signing_key: str | None = None,
    health: dict[str, float] | None = None,
) -> Front:
    """A gunicorn front with ``front_settings``, before ``upstream``, through ``entry``.

    ``health`` sets ``UPSTREAM_DOWN_AFTER``, ``UPSTREAM_COOL_OFF`` and
    ``UPSTREAM_MAX_WAITING`` (keys without the ``UPSTREAM_`` prefix).
    Returned once its worker answers (a page Django owns), not only once the
    master listens: tests count the worker's descriptors and memory.
    """
    env = {
        "DJANGO_SETTINGS_MODULE": "tests.reliability.front_settings",
        "STRANGLER_TEST_READ_TIMEOUT": str(read_timeout),
        "STRANGLER_TEST_SIGNING_KEY": signing_key or "",
        **{f"STRANGLER_TEST_UPSTREAM_{key}": str(value) for key, value in (health or {}).items()},
    }
    front = start_front(upstream, extra_env=env, app=ENTRIES[entry])
    wait_until_answering(front.port, "/ported/")
    return front


def wait_until_answering(port: int, target: str, timeout: float = 30.0) -> None:
    """Wait until GET ``target`` on 127.0.0.1:``port`` is answered 200 (at most ``timeout``)."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            conn.request("GET", target)
            last = conn.getresponse().status
            if last == 200:
                return
        except (OSError, http.client.HTTPException) as error:
            last = error
        finally:
            conn.close()
        time.sleep(0.05)
    raise AssertionError(f"GET {target} on port {port} not answered 200 in {timeout}s: {last!r}")


def stop_front(front: Front) -> None:
    front.process.terminate()
    front.process.wait(timeout=10)


# The four ways a request goes through a front: (entry path, transport).
FRONTS = [
    ("middleware", "http"),
    ("fast", "http"),
    ("middleware", "in-process"),
    ("fast", "in-process"),
]


@pytest.fixture(scope="module", params=FRONTS, ids=["-".join(f) for f in FRONTS])
def any_front(request: pytest.FixtureRequest, flask_process: FlaskProcess) -> Iterator[Front]:
    """Each way in, before the Flask process (HTTP) or with the same app in-process."""
    entry, transport = request.param
    upstream = flask_process.url if transport == "http" else IN_PROCESS
    front = start_reliability_front(upstream, entry)
    yield front
    stop_front(front)


@pytest.fixture(scope="module", params=list(ENTRIES))
def http_front(request: pytest.FixtureRequest, flask_process: FlaskProcess) -> Iterator[Front]:
    """Each entry path before the Flask process over HTTP (the transport that can lose Flask).

    Never marks Flask down (``UPSTREAM_DOWN_AFTER`` 0): these fronts show what
    the transport answers a dead or hung Flask, request by request, and are
    shared by a module's tests. Failing fast is ``test_fail_fast.py``'s, each
    test with a front of its own.
    """
    front = start_reliability_front(
        flask_process.url, request.param, read_timeout=2.0, health={"DOWN_AFTER": 0}
    )
    yield front
    stop_front(front)


def open_fds(pid: int) -> tuple[int, int]:
    """(file descriptors, of which sockets) open in process ``pid``."""
    fds = sockets = 0
    for entry in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(entry)
        except FileNotFoundError:
            continue  # closed while we listed
        fds += 1
        sockets += target.startswith("socket:")
    return fds, sockets


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")
