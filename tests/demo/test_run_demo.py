"""`make demo`'s runner: ports in use, a server that dies, Ctrl-C, and a second run."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.demo.conftest import Demo, fresh_database, query_one, start_demo, stop_demo


def listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def gunicorn_master(demo: Demo, name: str) -> int:
    """The pid of the demo's gunicorn master serving ``name`` (a child of run_demo)."""
    children = Path(f"/proc/{demo.process.pid}/task/{demo.process.pid}/children").read_text()
    for pid in map(int, children.split()):
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        if any(name.encode() in part for part in command):
            return pid
    raise AssertionError(f"no gunicorn for {name} among {children}")


def test_the_legacy_tables_were_adopted_not_recreated(demo: Demo) -> None:
    """safemigrate faked the migration of the tables Alembic built, and they still match."""
    recorded = "SELECT count(*) FROM django_migrations WHERE app = %s AND name = %s"
    assert query_one(demo, recorded, "labs", "0001_initial") == (1,)
    assert query_one(demo, "SELECT version_num FROM alembic_version") == ("0001_initial",)
    plan = demo.manage("safemigrate", "--plan", "--json")
    assert plan.returncode == 0, plan.stderr
    assert json.loads(plan.stdout) == {"migrations": []}  # nothing left to run or refuse
    drift = demo.manage("strangler_drift")
    assert drift.returncode == 0, drift.stdout + drift.stderr  # Django, SQLAlchemy and DB agree


@pytest.mark.parametrize("which", ["port", "flask_port"])
def test_a_port_in_use_stops_the_demo_before_it_starts(tmp_path: Path, which: str) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        demo = start_demo(tmp_path, **{which: taken})
        status, output = demo.finish(timeout=60)
    assert status == 1
    variable = "PORT" if which == "port" else "FLASK_PORT"
    assert f"port {taken} " in output
    assert "is in use by another program" in output
    assert f"make demo {variable}={taken + 1}" in output
    # Nothing was prepared or started on the way.
    assert not (tmp_path / "demo.sqlite3").exists()


def test_a_server_that_exits_stops_the_demo(tmp_path: Path) -> None:
    demo = start_demo(tmp_path)
    try:
        demo.wait_for_line(r"demo: ready at")
        assert listening(demo.port)
        os.kill(gunicorn_master(demo, "examples.labs.legacy.app:app"), signal.SIGKILL)
        status, output = demo.finish(timeout=60)
    finally:
        stop_demo(demo)
    assert status == 1
    assert (
        f"demo: flask (port {demo.flask_port}) exited with status -9; stopping the demo" in output
    )
    # The front door went down with it: it would only answer 502s.
    assert not listening(demo.port)


def test_ctrl_c_stops_both_servers_and_a_second_run_reuses_everything(tmp_path: Path) -> None:
    with fresh_database("second_run") as database_url:
        ctrl_c_then_run_again(tmp_path, database_url)


def ctrl_c_then_run_again(tmp_path: Path, database_url: str | None) -> None:
    """A first run prepares everything from nothing; after Ctrl-C, a second reuses it."""
    first = start_demo(tmp_path, database_url=database_url)
    try:
        first.wait_for_line(r"demo: ready at")
        assert "seeded the demo data" in "".join(first.output)
        keys = (tmp_path / "keys.json").read_text()
        first.process.send_signal(signal.SIGINT)
        status, output = first.finish(timeout=30)
    finally:
        stop_demo(first)
    assert status == 0
    assert "demo: stopping" in output
    deadline = time.monotonic() + 5
    while (listening(first.port) or listening(first.flask_port)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not listening(first.port)
    assert not listening(first.flask_port)

    second = start_demo(
        tmp_path, port=first.port, flask_port=first.flask_port, database_url=database_url
    )
    try:
        second.wait_for_line(r"demo: ready at")
        assert "demo data already there" in "".join(second.output)
        assert (tmp_path / "keys.json").read_text() == keys  # same key pair
        with urllib.request.urlopen(f"{second.url}/healthz", timeout=10) as response:
            assert json.load(response) == {"app": "legacy", "status": "ok"}
    finally:
        stop_demo(second)


def test_make_demo_passes_the_ports_and_uses_only_the_demo_extra() -> None:
    result = subprocess.run(
        ["make", "--no-print-directory", "-n", "-B", "demo", "PORT=8123", "FLASK_PORT=5123"],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    lines = result.stdout.splitlines()
    assert "-e '.[demo]'" in result.stdout
    assert "[test]" not in result.stdout  # no linters or type checkers in the demo's virtualenv
    assert (
        lines[-1] == ".venv-demo/bin/python examples/labs/run_demo.py --port 8123 --flask-port 5123"
    )
