"""``manage.py strangler_replay`` (strangler/shadow/replay.py) against the real Flask app."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client
from pytest_django.fixtures import Settings as SettingsWrapper

from strangler.shadow.models import RecordedRequest, ShadowDifference
from tests.shadow.legacy import Seen

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("shadow_on")]


@pytest.fixture(autouse=True)
def flask_owns_the_routes(settings: SettingsWrapper, shadow_on: Any) -> None:
    """Before the switch: Flask owns every route; Django's ports exist but serve nobody yet."""
    settings.STRANGLER = {**settings.STRANGLER, "ROUTES": {"/**": "flask"}}


def replay(*args: str) -> tuple[int, str]:
    out = StringIO()
    try:
        call_command("strangler_replay", *args, stdout=out, stderr=StringIO())
    except CommandError as exc:
        if exc.returncode != 1 or "differ" not in str(exc):
            raise
        return 1, out.getvalue()
    return 0, out.getvalue()


def write_lines(tmp_path: Path, *items: dict[str, Any]) -> str:
    path = tmp_path / "requests.jsonl"
    path.write_text("\n".join(json.dumps(item) for item in items) + "\n")
    return str(path)


def test_faithful_ports_replay_without_a_difference(tmp_path: Path) -> None:
    file = write_lines(
        tmp_path,
        {"path": "/api/items"},
        {"method": "GET", "path": "/page", "headers": {"Accept": "text/html"}},
        {"path": "/api/stamp"},  # noisy: learned from two Flask answers per request
    )
    status, out = replay("--file", file)
    assert status == 0
    assert "3 requests replayed, 0 differ." in out


def test_a_difference_exits_1_and_names_the_fields(tmp_path: Path) -> None:
    file = write_lines(tmp_path, {"path": "/api/items"}, {"path": "/api/items-status"})
    status, out = replay("--file", file, "--json")
    assert status == 1
    report = json.loads(out)
    assert report["compared"] == 2
    [difference] = report["differences"]
    assert difference["path"] == "/api/items-status"
    assert difference["status"] == [202, 200]
    assert difference["fields"] == ["status"]
    assert not ShadowDifference.objects.exists()  # only with --store


def test_store_keeps_replay_differences(tmp_path: Path) -> None:
    file = write_lines(tmp_path, {"path": "/api/items-dropped"})
    assert replay("--file", file, "--store")[0] == 1
    [difference] = ShadowDifference.objects.all()
    assert difference.source == "replay"
    assert difference.fields == ["body.items[0].name", "body.items[1].name"]


def test_without_noise_learning_the_noisy_endpoint_differs(tmp_path: Path) -> None:
    file = write_lines(tmp_path, {"path": "/api/stamp"})
    status, out = replay("--file", file, "--no-noise")
    assert status == 1
    assert "body.generated_at" in out


def test_recorded_requests_replay_as_the_user_they_ran_as(
    django_user_model: Any, seen: Seen
) -> None:
    ada = django_user_model.objects.create_user("ada")
    RecordedRequest.objects.create(
        route="/api/whoami", method="GET", target="/api/whoami", user_id=str(ada.pk), username="ada"
    )
    RecordedRequest.objects.create(route="/api/items", method="GET", target="/api/items")
    status, out = replay("--no-noise")
    assert status == 0, out
    [whoami] = [i["claims"] for i in seen.identities if i["claims"].get("username")]
    assert whoami["sub"] == str(ada.pk)


def test_one_session_per_user_for_the_whole_run(tmp_path: Path, django_user_model: Any) -> None:
    from django.contrib.sessions.models import Session

    django_user_model.objects.create_user("ada")
    file = write_lines(tmp_path, *[{"path": "/api/whoami", "user": "ada"}] * 3)
    assert replay("--file", file, "--no-noise")[0] == 0
    assert Session.objects.count() == 1


def test_a_har_file_is_replayed(tmp_path: Path) -> None:
    har = {
        "log": {
            "version": "1.2",
            "entries": [
                {
                    "request": {
                        "method": "GET",
                        "url": "https://app.example/api/items-reordered?x=1",
                        "headers": [{"name": ":authority", "value": "app.example"}],
                    }
                }
            ],
        }
    }
    path = tmp_path / "session.har"
    path.write_text(json.dumps(har))
    status, out = replay("--file", str(path))
    assert status == 1
    assert "DIFF GET /api/items-reordered?x=1" in out


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "line 1 of requests.jsonl: not JSON"),
        ('{"method": "GET"}', "path None must start with a single '/'"),
        ('{"path": "//evil.example/x"}', "must start with a single '/'"),
        ('{"path": "/x", "method": "BREW"}', "method 'BREW' is not one of"),
        ('{"path": "/x", "user": "nobody"}', "no user 'nobody' in this database"),
        ('{"path": "/x", "headers": 3}', "headers must be an object"),
        ('{"path": "/api/notes", "method": "POST"}', "pass --unsafe"),
    ],
)
def test_bad_input_is_refused_before_anything_is_sent(
    tmp_path: Path, seen: Seen, line: str, message: str
) -> None:
    path = tmp_path / "requests.jsonl"
    path.write_text('{"path": "/api/items"}\n' + line + "\n")
    if message.startswith("line 1"):
        path.write_text(line + "\n")
    with pytest.raises(CommandError, match=message.replace("(", r"\(").replace("[", r"\[")):
        replay("--file", str(path))
    assert sum(seen.paths.values()) == 0


def test_unsafe_requests_replay_only_when_asked(tmp_path: Path, seen: Seen) -> None:
    file = write_lines(
        tmp_path,
        {
            "path": "/api/notes",
            "method": "POST",
            "body": {"a": 1},
            "headers": {"Content-Type": "application/json"},
        },
    )
    status, out = replay("--file", file, "--unsafe")
    assert status == 0, out
    assert seen.paths["/api/notes"] == 1  # a write is never sent twice for noise


def test_nothing_to_replay_is_an_error() -> None:
    with pytest.raises(CommandError, match="Nothing to replay"):
        replay()
    with pytest.raises(CommandError, match="does not exist"):
        replay("--file", "/no/such/file.jsonl")


def test_replayed_requests_are_not_counted_as_traffic(tmp_path: Path, client: Client) -> None:
    from strangler.traffic import read_traffic, reset_traffic, traffic_recorder

    reset_traffic()
    file = write_lines(tmp_path, {"path": "/api/items"}, {"path": "/api/items-status"})
    replay("--file", file, "--no-noise")
    traffic_recorder().flush()
    assert read_traffic() == {}
    # The same request from a client is counted: the check above can see traffic.
    client.get("/api/items")
    traffic_recorder().flush()
    assert read_traffic() != {}
