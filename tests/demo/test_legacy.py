"""The legacy Flask app on its own: Alembic, the attached schemas, forms, API, roles.

No Django here: this is the app as its team knew it before the front door.
"""

from __future__ import annotations

import io
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from examples.labs.legacy.app import create_app
from examples.labs.legacy.config import Settings
from examples.labs.legacy.database import make_engine, make_session_factory
from examples.labs.legacy.seed import seed
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import inspect

from tests.conftest import ROOT

ALEMBIC_INI = ROOT / "examples" / "labs" / "legacy" / "alembic.ini"


def alembic(var: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "alembic", "-c", str(ALEMBIC_INI), *args],
        env={"PATH": "/usr/bin:/bin", "LABS_VAR": str(var)},
        capture_output=True, text=True, check=False,
    )  # fmt: skip


@pytest.fixture(scope="module")
def var(tmp_path_factory: pytest.TempPathFactory) -> Path:
    var = tmp_path_factory.mktemp("legacy-var")
    result = alembic(var, "upgrade", "head")
    assert result.returncode == 0, result.stderr
    url = f"sqlite:///{var / 'demo.sqlite3'}"
    with make_session_factory(make_engine(url))() as session:
        assert seed(session, samples=450)
    return var


@pytest.fixture
def app(var: Path) -> Flask:
    settings = Settings(
        database_url=f"sqlite:///{var / 'demo.sqlite3'}",
        secret_key="legacy-tests",
        upload_dir=var / "uploads",
        verifying_keys={},
    )
    return create_app(settings, TESTING=True)


@pytest.fixture
def client(app: Flask) -> Iterator[FlaskClient]:
    with app.test_client() as client:
        yield client


def log_in(client: FlaskClient, username: str) -> None:
    client.application.config["WTF_CSRF_ENABLED"] = False
    answer = client.post("/login", data={"username": username, "password": f"{username}-labs-demo"})
    client.application.config["WTF_CSRF_ENABLED"] = True
    assert answer.status_code == 302


def test_schemas_are_attached_sqlite_files(var: Path) -> None:
    inspector = inspect(make_engine(f"sqlite:///{var / 'demo.sqlite3'}"))
    assert set(inspector.get_table_names(schema="labs")) == {
        "sample", "tag", "sample_tags", "experiment", "result", "attachment",
    }  # fmt: skip
    assert inspector.get_table_names(schema="events") == ["event"]
    assert "users" in inspector.get_table_names()
    assert (var / "demo.labs.sqlite3").exists()
    assert (var / "demo.events.sqlite3").exists()


def test_models_match_the_migrations(var: Path) -> None:
    """`alembic check`: autogenerate finds nothing to do (Django's tables are not its business)."""
    result = alembic(var, "check")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No new upgrade operations detected" in result.stdout + result.stderr


def test_forms_need_their_csrf_token(client: FlaskClient) -> None:
    log_in(client, "sam")
    refused = client.post(
        "/samples/new", data={"name": "x", "lab": "north", "collected_on": "2026-01-01"}
    )
    assert refused.status_code == 400
    page = client.get("/samples/new").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    created = client.post(
        "/samples/new",
        data={"csrf_token": token, "name": "x", "lab": "north", "collected_on": "2026-01-01"},
    )
    assert created.status_code == 302


def test_api_pagination_and_its_bounds(client: FlaskClient) -> None:
    assert client.get("/api/samples").status_code == 401
    log_in(client, "vic")
    first = client.get("/api/samples?per_page=100").get_json()
    assert len(first["items"]) == 100
    assert first["next"] == "/api/samples?page=2&per_page=100"
    last_page = -(-first["total"] // 100)
    last = client.get(f"/api/samples?page={last_page}&per_page=100").get_json()
    assert last["next"] is None
    assert len(last["items"]) == first["total"] - 100 * (last_page - 1)
    for bad in ["per_page=0", "per_page=101", "page=0", "page=-3"]:
        answer = client.get(f"/api/samples?{bad}")
        assert answer.status_code == 400, bad
        assert "per_page between 1 and 100" in answer.get_json()["error"]


def test_csv_export_streams_in_batches(client: FlaskClient) -> None:
    log_in(client, "vic")
    answer = client.get("/samples/export.csv", buffered=False)
    assert answer.is_streamed
    chunks = [chunk for chunk in answer.response if chunk]
    answer.close()
    # 450+ samples in batches of 200: at least three pieces, none holding everything.
    assert len(chunks) >= 3
    body = b"".join(c if isinstance(c, bytes) else c.encode() for c in chunks)
    assert body.count(b"\n") >= 451


def test_upload_keeps_the_bytes_and_a_safe_name(client: FlaskClient, var: Path) -> None:
    log_in(client, "sam")
    client.application.config["WTF_CSRF_ENABLED"] = False
    content = bytes(range(256)) * 40
    answer = client.post(
        "/samples/2/attachments",
        data={"file": (io.BytesIO(content), "../../etc/passwd")},
        content_type="multipart/form-data",
    )
    assert answer.status_code == 302
    page = client.get("/samples/2").get_data(as_text=True)
    assert "etc_passwd" in page
    assert not (var.parent / "etc").exists()
    link = page.split('href="/attachments/')[-1].split('"')[0]
    download = client.get(f"/attachments/{link}")
    received = download.data
    download.close()  # send_file's open file, as a WSGI server would
    assert received == content


@pytest.mark.parametrize(
    ("user", "path", "status"),
    [
        ("vic", "/samples/new", 403),
        ("vic", "/admin/users", 403),
        ("sam", "/admin/users", 403),
        ("ada", "/admin/users", 200),
        ("ada", "/samples/new", 200),  # admins may do everything
    ],
)
def test_roles(client: FlaskClient, user: str, path: str, status: int) -> None:
    log_in(client, user)
    assert client.get(path).status_code == status


def test_login_refuses_a_foreign_next(client: FlaskClient) -> None:
    client.application.config["WTF_CSRF_ENABLED"] = False
    for target in ["https://evil.example/", "//evil.example/x"]:
        answer = client.post(
            f"/login?next={target}", data={"username": "vic", "password": "vic-labs-demo"}
        )
        assert answer.headers["Location"] == "/"


def test_the_legacy_package_never_imports_django() -> None:
    code = (
        "import sys, examples.labs.legacy.app, examples.labs.legacy.seed;"
        "print(sorted(m for m in sys.modules if m == 'django' or m.startswith('django.')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
