"""Find the PostgreSQL server the tests run on, or say clearly that there is none.

In order: ``DATABASE_URL`` when set; else the server on 127.0.0.1:5432 (trust
auth, user ``postgres``); else a throwaway cluster started from the
PostgreSQL binaries when they are installed. The choice is exported as
``DATABASE_URL`` so that servers the tests start in subprocesses agree.
"""

from __future__ import annotations

import atexit
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from typing import Any
from urllib.parse import unquote, urlsplit

NO_DATABASE = (
    "No PostgreSQL server for the tests. Set DATABASE_URL "
    "(postgres://user@host:port/name), start a server on 127.0.0.1:5432, or install "
    "the PostgreSQL server binaries (initdb, pg_ctl) so a throwaway cluster can be started."
)


def parse_database_url(url: str) -> dict[str, Any]:
    """Django ``DATABASES`` entry for a ``postgres://`` URL."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql"):
        raise ValueError(f"DATABASE_URL must be a postgres:// URL, not {url!r}")
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(parts.path.lstrip("/")) or "strangler",
        "USER": unquote(parts.username or "postgres"),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "127.0.0.1",
        "PORT": str(parts.port or 5432),
    }


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_throwaway_cluster() -> str | None:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    initdb = shutil.which("initdb") or (candidates[-1] if candidates else None)
    if initdb is None:
        return None
    bindir = os.path.dirname(initdb)
    datadir = tempfile.mkdtemp(prefix="strangler-pg-")
    port = _free_port()
    run_as: list[str] = []
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        # initdb refuses to run as root; the postgres system user exists where the server does.
        shutil.chown(datadir, user="postgres")
        run_as = ["runuser", "-u", "postgres", "--"]
    subprocess.run(
        [*run_as, initdb, "-D", datadir, "-U", "postgres", "--auth=trust"],
        check=True,
        capture_output=True,
    )
    options = f"-p {port} -k {datadir} -c listen_addresses=127.0.0.1"
    pg_ctl = os.path.join(bindir, "pg_ctl")
    subprocess.run(
        [*run_as, pg_ctl, "-D", datadir, "-o", options, "-w", "start"],
        check=True,
        capture_output=True,
    )

    def stop() -> None:
        subprocess.run([*run_as, pg_ctl, "-D", datadir, "-m", "fast", "stop"], capture_output=True)
        shutil.rmtree(datadir, ignore_errors=True)

    atexit.register(stop)
    deadline = time.monotonic() + 10
    while not _answers("127.0.0.1", port) and time.monotonic() < deadline:
        time.sleep(0.1)
    return f"postgres://postgres@127.0.0.1:{port}/strangler"


def database_settings() -> dict[str, Any]:
    """The ``default`` database for the tests; exits pytest with a clear message if none.

    The test database is named after this process, so two test runs on one
    server (a developer's and a matrix run) never drop each other's.
    """
    url = os.environ.get("DATABASE_URL")
    if not url:
        if _answers("127.0.0.1", 5432):
            url = "postgres://postgres@127.0.0.1:5432/strangler"
        else:
            try:
                url = _start_throwaway_cluster()
            except (OSError, subprocess.CalledProcessError, LookupError) as exc:
                raise SystemExit(
                    f"{NO_DATABASE}\n(starting a throwaway cluster failed: {exc})"
                ) from None
        if url is None:
            raise SystemExit(NO_DATABASE)
        os.environ["DATABASE_URL"] = url
    settings = parse_database_url(url)
    settings["TEST"] = {"NAME": f"test_{settings['NAME']}_{os.getpid()}"}
    return settings
