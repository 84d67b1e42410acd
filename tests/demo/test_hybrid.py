"""The whole hybrid flow, through the front door of a running demo (both gunicorns)."""

from __future__ import annotations

import csv
import io
import json
import re
import time
import uuid

from tests.demo.conftest import Demo, Visitor, query_one


def django_password(demo: Demo, username: str) -> str:
    row = query_one(demo, "SELECT password FROM auth_user WHERE username = %s", username)
    return str(row[0]) if row else ""


def legacy_hash(demo: Demo, username: str) -> str:
    row = query_one(demo, "SELECT password_hash FROM users WHERE username = %s", username)
    assert row is not None
    return str(row[0])


def test_login_on_django_with_a_legacy_password(demo: Demo, visitor: Visitor) -> None:
    assert django_password(demo, "vic") == ""  # no Django user yet: only the legacy row
    refused = visitor.log_in("vic", "wrong-password")
    assert refused.status == 200
    assert "correct username and password" in refused.text

    answer = visitor.log_in("vic", "vic-labs-demo")
    assert answer.status == 302
    assert answer.headers["Location"] == "/"
    # The legacy Werkzeug hash was verified, and Django stored its own.
    assert django_password(demo, "vic").startswith("pbkdf2_sha256$")
    assert legacy_hash(demo, "vic").startswith(("scrypt:", "pbkdf2:"))

    # A Flask page, through the front: Flask knows the user from Django's token.
    page = visitor.get("/")
    assert page.status == 200
    assert "served by Flask" in page.text
    assert re.search(r"vic\s*<span class=\"badge role\">viewer</span>", page.text)

    # Once moved to Django, the password lives there: logging in again uses it.
    again = Visitor(demo.url)
    assert again.log_in("vic", "vic-labs-demo").status == 302


def test_anonymous_flask_page_sends_to_djangos_login(visitor: Visitor) -> None:
    answer = visitor.get("/samples")
    assert answer.status == 302
    assert answer.headers["Location"].startswith("/login?next=%2Fsamples")
    login = visitor.get(answer.headers["Location"])
    assert "served by Django" in login.text


def test_flask_form_post_through_the_front(demo: Demo, visitor: Visitor) -> None:
    visitor.log_in("sam", "sam-labs-demo")
    name = f"Core {uuid.uuid4().hex[:8]}"
    token = visitor.csrf_token("/samples/new")
    without_token = visitor.post_form(
        "/samples/new", {"name": name, "lab": "north", "collected_on": "2026-05-01"}
    )
    assert without_token.status == 400  # Flask-WTF's CSRF check, untouched by the front

    created = visitor.post_form(
        "/samples/new",
        {"csrf_token": token, "name": name, "lab": "south", "collected_on": "2026-05-01",
         "tags": "field, urgent", "notes": "from the test"},
    )  # fmt: skip
    assert created.status == 302, created.text
    sample_page = visitor.get(created.headers["Location"])
    assert name in sample_page.text
    assert "served by Flask" in sample_page.text
    # Flask wrote to the shared event log; Django's ported page shows it.
    events = visitor.get("/events")
    assert "served by Django" in events.text
    assert "sample.created" in events.text
    sample_id = created.headers["Location"].rsplit("/", 1)[1]
    assert f"sample:{sample_id}" in events.text


def test_csv_export_is_streamed_through_the_front(visitor: Visitor) -> None:
    visitor.log_in("vic", "vic-labs-demo")
    answer = visitor.get("/samples/export.csv")
    assert answer.status == 200
    assert answer.headers["Content-Type"].startswith("text/csv")
    assert answer.headers["Content-Disposition"] == "attachment; filename=samples.csv"
    # Streamed: no length known in advance, sent in chunks.
    assert answer.headers.get("Content-Length") is None
    assert answer.headers.get("Transfer-Encoding") == "chunked"
    rows = list(csv.reader(io.StringIO(answer.text)))
    assert rows[0] == ["id", "name", "lab", "collected_on", "owner", "tags"]
    assert len(rows) >= 61
    assert [int(row[0]) for row in rows[1:]] == sorted(int(row[0]) for row in rows[1:])


def test_upload_through_the_front(visitor: Visitor) -> None:
    visitor.log_in("sam", "sam-labs-demo")
    token = visitor.csrf_token("/samples/3")
    content = b"metric,value\nph,6.5\n" * 2000 + bytes(range(256))
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            'filename="ph run.csv"\r\n'
            "Content-Type: text/csv\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    answer = visitor.request(
        "POST", "/samples/3/attachments", body,
        {"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )  # fmt: skip
    assert answer.status == 302
    page = visitor.get("/samples/3").text
    assert f"{len(content)} bytes" in page
    link = re.findall(r'href="(/attachments/\d+)">ph_run.csv<', page)[-1]
    download = visitor.get(link)
    assert download.body == content


def test_roles_are_refused(visitor: Visitor) -> None:
    visitor.log_in("vic", "vic-labs-demo")  # a viewer
    assert visitor.get("/samples/new").status == 403
    assert visitor.get("/admin/users").status == 403
    refused = visitor.request(
        "POST", "/api/samples", json.dumps({"name": "x", "collected_on": "2026-01-01"}).encode(),
        {"Content-Type": "application/json"},
    )  # fmt: skip
    assert refused.status == 403
    assert json.loads(refused.body) == {"error": "scientists only"}


def test_admin_action_with_the_admin_role(demo: Demo, visitor: Visitor) -> None:
    visitor.log_in("ada", "ada-labs-demo")
    page = visitor.get("/admin/users")
    assert page.status == 200
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text)
    assert token
    row = query_one(demo, "SELECT id FROM users WHERE username = %s", "vic")
    assert row is not None
    user_id = row[0]
    changed = visitor.post_form(
        f"/admin/users/{user_id}/role", {"csrf_token": token.group(1), "role": "viewer"}
    )
    assert changed.status == 302
    assert "vic is now viewer" in visitor.get("/admin/users").text


def test_ported_get_with_its_post_still_in_flask(demo: Demo, visitor: Visitor) -> None:
    visitor.log_in("sam", "sam-labs-demo")
    listing = visitor.get("/api/samples?per_page=5")
    assert listing.status == 200
    data = json.loads(listing.body)
    assert data["per_page"] == 5
    assert len(data["items"]) == 5
    assert data["next"] == "/api/samples?page=2&per_page=5"
    created = visitor.request(
        "POST", "/api/samples",
        json.dumps({"name": "Via the API", "collected_on": "2026-06-01"}).encode(),
        {"Content-Type": "application/json"},
    )  # fmt: skip
    assert created.status == 201, created.text
    new = json.loads(created.body)
    # Django's GET reads what Flask's POST wrote, in the same shape.
    assert json.loads(visitor.get(created.headers["Location"]).body) == new
    # The access logs say who answered: Django alone for GET, Flask for POST.
    demo.wait_for_line(r"django\s+POST /api/samples HTTP/1.1 201")
    demo.wait_for_line(r"flask\s+POST /api/samples HTTP/1.1 201")
    log = "".join(demo.output)
    assert not re.search(r"flask\s+GET /api/samples[ ?/]", log)
    assert re.search(r"django\s+GET /api/samples\?per_page=5 HTTP/1.1 200", log)


def test_the_shadowed_route_matches_flask(demo: Demo, visitor: Visitor) -> None:
    """Django answers GET /api/experiments; Flask's answer to the same request is compared."""
    visitor.log_in("sam", "sam-labs-demo")
    for page in (1, 2):
        answer = visitor.get(f"/api/experiments?per_page=5&page={page}")
        assert answer.status == 200
        assert len(json.loads(answer.body)["items"]) == 5
    deadline = time.monotonic() + 30
    while True:
        listed = demo.manage("strangler_shadow", "--json")
        assert listed.returncode == 0, listed.stderr
        report = json.loads(listed.stdout)
        if report["compared"] >= 2 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert report["compared"] >= 2
    assert report["differences"] == []
