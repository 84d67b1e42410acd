"""The demo as `make demo` runs it: both gunicorns, on free ports, in a temporary var dir."""

from __future__ import annotations

import http.cookiejar
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pytest

from tests.conftest import ROOT, free_port

RUN_DEMO = ROOT / "examples" / "labs" / "run_demo.py"


@dataclass
class Demo:
    """A running ``run_demo.py``: its process, ports and output so far."""

    process: subprocess.Popen[str]
    port: int
    flask_port: int
    var: Path
    database_url: str | None = None  # None: DEMO_DATABASE_URL, or SQLite in var
    output: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def manage(self, *args: str) -> subprocess.CompletedProcess[str]:
        """``manage.py ARGS`` of the demo's site, on the demo's database, output captured."""
        env = {
            **demo_env(self.var, self.database_url),
            "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "src")]),
            "DJANGO_SETTINGS_MODULE": "examples.labs.site.settings",
        }
        command = [sys.executable, str(ROOT / "examples" / "labs" / "manage.py"), *args]
        return subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=120, check=False
        )

    def wait_for_line(self, pattern: str, timeout: float = 90) -> str:
        """The first line of the demo's output matching ``pattern``, read so far or still to come.

        Lines already read count: the two servers log through one pipe, so a
        line can arrive before the one a test waited for first.
        """
        assert self.process.stdout is not None
        for line in self.output:
            if re.search(pattern, line):
                return line
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line and self.process.poll() is not None:
                break
            self.output.append(line)
            if re.search(pattern, line):
                return line
        raise AssertionError(f"no line matching {pattern!r}:\n{''.join(self.output)}")

    def finish(self, timeout: float = 30) -> tuple[int, str]:
        """Wait for the demo to exit; its status and the rest of its output."""
        out, _ = self.process.communicate(timeout=timeout)
        self.output.append(out)
        return self.process.returncode, "".join(self.output)


def demo_env(var: Path, database_url: str | None = None) -> dict[str, str]:
    """The environment the demo and its ``manage.py`` run in, as ``make demo`` gives it.

    Its files in ``var``; its database the SQLite file there, or PostgreSQL at
    ``database_url`` (default: ``DEMO_DATABASE_URL`` when set).
    """
    url = database_url or os.environ.get("DEMO_DATABASE_URL")
    return {
        "PATH": os.environ["PATH"],
        "LABS_VAR": str(var),
        "PYTHONUNBUFFERED": "1",
        **({"DATABASE_URL": url} if url else {}),
    }


@contextmanager
def fresh_database(name: str) -> Iterator[str | None]:
    """A new, empty demo database: the URL of one made beside ``DEMO_DATABASE_URL``'s.

    ``None`` on SQLite, where each var directory already has a file of its own.
    Dropped afterwards.
    """
    url = os.environ.get("DEMO_DATABASE_URL")
    if not url:
        yield None
        return
    import psycopg
    from psycopg import sql

    parts = urllib.parse.urlsplit(url)
    database = f"{parts.path.lstrip('/')}_{name}"
    statements = [
        sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database)),
        sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)),
    ]
    with psycopg.connect(url, autocommit=True) as admin:
        for statement in statements:
            admin.execute(statement)
    try:
        yield urllib.parse.urlunsplit(parts._replace(path=f"/{database}"))
    finally:
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(statements[0])


def start_demo(
    var: Path,
    port: int | None = None,
    flask_port: int | None = None,
    database_url: str | None = None,
) -> Demo:
    port, flask_port = port or free_port(), flask_port or free_port()
    process = subprocess.Popen(
        [sys.executable, str(RUN_DEMO), "--port", str(port), "--flask-port", str(flask_port)],
        env=demo_env(var, database_url),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    return Demo(process, port, flask_port, var, database_url)


def stop_demo(demo: Demo) -> None:
    if demo.process.poll() is None:
        demo.process.send_signal(signal.SIGINT)
        try:
            demo.process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            demo.process.kill()
            demo.process.communicate()


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """One demo for the flow and page tests: prepared from nothing, then serving."""
    running = start_demo(tmp_path_factory.mktemp("labs-var"))
    try:
        running.wait_for_line(r"demo: ready at")
        yield running
    finally:
        stop_demo(running)


class NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


@dataclass
class Answer:
    status: int
    headers: Any
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode()


class Visitor:
    """A browser without JavaScript: cookies kept, redirects not followed, CSRF tokens read."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.cookies), NoRedirects()
        )

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        stream: bool = False,
    ) -> Answer:
        request = urllib.request.Request(
            self.base + path, data=body, method=method, headers=headers or {}
        )
        try:
            response: IO[bytes] = self.opener.open(request, timeout=30)
        except urllib.error.HTTPError as error:
            response = error
        with response:
            status = response.status if hasattr(response, "status") else response.code  # type: ignore[attr-defined]
            return Answer(status, response.headers, response.read())  # type: ignore[attr-defined]

    def get(self, path: str, **kwargs: Any) -> Answer:
        return self.request("GET", path, **kwargs)

    def post_form(self, path: str, fields: dict[str, str], referer: str | None = None) -> Answer:
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        headers["Referer"] = self.base + (referer or path)
        return self.request("POST", path, urllib.parse.urlencode(fields).encode(), headers)

    def csrf_token(self, path: str) -> str:
        """The form token of the page at ``path`` (Django's or Flask-WTF's field)."""
        page = self.get(path)
        assert page.status == 200, (path, page.status)
        match = re.search(
            r'name="(?:csrfmiddlewaretoken|csrf_token)"[^>]*value="([^"]+)"', page.text
        ) or re.search(r'value="([^"]+)"[^>]*name="(?:csrfmiddlewaretoken|csrf_token)"', page.text)
        assert match, f"no CSRF token on {path}"
        return match.group(1)

    def log_in(self, username: str, password: str) -> Answer:
        token = self.csrf_token("/login")
        return self.post_form(
            "/login", {"csrfmiddlewaretoken": token, "username": username, "password": password}
        )


def query_one(demo: Demo, sql: str, *params: object) -> tuple[Any, ...] | None:
    """One row from the demo's database (``%s`` placeholders), SQLite or PostgreSQL."""
    url = os.environ.get("DEMO_DATABASE_URL")
    if url:
        import psycopg

        with psycopg.connect(url) as connection:
            return connection.execute(sql, params).fetchone()
    import sqlite3

    with sqlite3.connect(demo.var / "demo.sqlite3") as connection:
        row: tuple[Any, ...] | None = connection.execute(sql.replace("%s", "?"), params).fetchone()
        return row


@pytest.fixture
def visitor(demo: Demo) -> Visitor:
    return Visitor(demo.url)
