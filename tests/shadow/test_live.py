"""Live shadow through the front door (strangler/shadow/live.py), against a real Flask server.

Django's test client goes through ``StranglerMiddleware``; the workers send
the copy to the legacy app on a real socket and store in the test database
(hence transactional tests: the workers use their own connections).
"""

from __future__ import annotations

import json
import os
import signal
import threading
from typing import Any

import pytest
from django.test import Client
from pytest_django.fixtures import Settings as SettingsWrapper

from strangler.shadow.models import ShadowDifference, ShadowTally
from strangler.shadow.sidecar import Sidecar
from strangler.shadow.store import shadow_report
from strangler.shadow.workers import LocalWorkers, shadow_workers
from tests.shadow.conftest import drain, through_the_asgi_entry
from tests.shadow.legacy import SECRET_TOKEN, Seen

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("shadow_on")]


def only_difference() -> ShadowDifference:
    [difference] = ShadowDifference.objects.all()
    return difference


def test_django_answers_and_flask_sees_the_same_request(client: Client, seen: Seen) -> None:
    response = client.get("/api/items")
    assert json.loads(response.content)["total"] == 2
    assert "X-Upstream" not in response  # Django's answer, not Flask's
    drain()
    assert seen.paths["/api/items"] == 1
    assert ShadowTally.objects.get(route="/api/items").compared == 1


def test_a_faithful_port_gives_no_difference(client: Client) -> None:
    for _ in range(3):
        client.get("/api/items")
    client.get("/page")
    drain()
    assert not ShadowDifference.objects.exists()
    assert shadow_report()["compared"] == 4


def test_under_the_asgi_entry_django_answers_and_a_dropped_field_is_caught(seen: Seen) -> None:
    # strangler.asgi hands a shadow route to Django's ASGI handler, whose middleware shadows it.
    status, body = through_the_asgi_entry("/api/items-dropped")
    assert status == 200
    assert "name" not in json.loads(body)["items"][0]  # Django's answer, not Flask's
    drain()
    assert seen.paths["/api/items-dropped"] == 1
    assert sorted(only_difference().fields) == ["body.items[0].name", "body.items[1].name"]


@pytest.mark.parametrize(
    ("path", "fields", "status"),
    [
        ("/api/items-dropped", ["body.items[0].name", "body.items[1].name"], [200, 200]),
        (
            "/api/items-reordered",
            [
                "body.items[0].id",
                "body.items[0].name",
                "body.items[0].tags[0]",
                "body.items[0].tags",
                "body.items[1].id",
                "body.items[1].name",
                "body.items[1].tags",
                "body.items[1].tags[0]",
            ],
            [200, 200],
        ),
        ("/api/items-status", ["status"], [202, 200]),
    ],
)
def test_a_port_that_drops_reorders_or_changes_the_status_is_caught(
    client: Client, path: str, fields: list[str], status: list[int]
) -> None:
    client.get(path)
    drain()
    difference = only_difference()
    assert sorted(difference.fields) == sorted(fields)
    assert [difference.django_status, difference.flask_status] == status
    assert json.loads(difference.flask_body)["items"][0]["name"] == "pipette"
    report = shadow_report()
    assert report["differences"][0]["path"] == path
    assert report["differences"][0]["status"] == status


def test_ignored_paths_give_no_false_difference(client: Client, settings: SettingsWrapper) -> None:
    settings.STRANGLER = {
        **settings.STRANGLER,
        "SHADOW": {**settings.STRANGLER["SHADOW"], "IGNORE": ["body.generated_at"]},
    }
    client.get("/api/stamp")
    drain()
    # The random id is still a difference: only what was ignored is left out.
    assert only_difference().fields == ["body.request_id"]


def test_learned_noise_gives_no_false_difference(
    client: Client, settings: SettingsWrapper, seen: Seen
) -> None:
    settings.STRANGLER = {
        **settings.STRANGLER,
        "SHADOW": {**settings.STRANGLER["SHADOW"], "NOISE_WARMUP": 2},
    }
    for _ in range(4):
        client.get("/api/stamp")
    drain()
    # Warm-up requests went to Flask twice, later ones once.
    assert seen.paths["/api/stamp"] == 2 * 2 + 2
    assert not ShadowDifference.objects.exists()
    assert ShadowTally.objects.get(route="/api/stamp").compared == 4


def test_learned_noise_still_shows_a_real_difference(
    client: Client, settings: SettingsWrapper
) -> None:
    settings.STRANGLER = {
        **settings.STRANGLER,
        "SHADOW": {**settings.STRANGLER["SHADOW"], "NOISE_WARMUP": 3},
    }
    client.get("/api/items-dropped")
    drain()
    assert len(only_difference().fields) == 2


def test_the_replayed_request_carries_the_same_identity(
    client: Client, django_user_model: Any, seen: Seen
) -> None:
    ada = django_user_model.objects.create_user("ada")
    client.force_login(ada)
    response = client.get("/api/whoami")
    assert json.loads(response.content) == {"user": "ada"}
    drain()
    assert not ShadowDifference.objects.exists()  # Flask saw ada too
    [claims] = [i["claims"] for i in seen.identities]
    assert claims["sub"] == str(ada.pk)
    assert claims["username"] == "ada"


def test_nothing_secret_is_stored(client: Client, django_user_model: Any, shadow_keys: Any) -> None:
    ada = django_user_model.objects.create_user("ada")
    client.force_login(ada)
    session = client.cookies["sessionid"].value
    client.get(
        "/api/secret?q=1&api_token=query-secret-value",
        HTTP_AUTHORIZATION="Bearer bearer-secret-value",
        HTTP_X_API_KEY="header-secret-value",
        HTTP_COOKIE=f"sessionid={session}; csrftoken=csrf-secret-value",
    )
    drain()
    difference = only_difference()
    assert difference.fields == ["body.echo"]
    assert difference.identity == f"user {ada.pk} (ada)"
    stored = json.dumps(
        {f.name: getattr(difference, f.name) for f in ShadowDifference._meta.fields}, default=str
    )
    for secret in (
        SECRET_TOKEN,
        session,
        "query-secret-value",
        "bearer-secret-value",
        "header-secret-value",
        "csrf-secret-value",
        "eyJ",  # no JWT, the identity token included
    ):
        assert secret not in stored
    assert "[redacted]" in stored


def test_unsafe_methods_are_not_replayed_without_an_opt_in(client: Client, seen: Seen) -> None:
    response = client.post("/api/notes", data={"a": 1}, content_type="application/json")
    assert response.status_code == 201
    drain()
    assert seen.paths["/api/notes"] == 0
    assert not ShadowTally.objects.exists()


def test_an_opted_in_unsafe_method_is_replayed_once_with_its_body(
    client: Client, settings: SettingsWrapper, seen: Seen
) -> None:
    settings.STRANGLER = {
        **settings.STRANGLER,
        "SHADOW": {
            **settings.STRANGLER["SHADOW"],
            "NOISE_WARMUP": 5,  # noise samples are never taken for a write
            "ROUTES": {"/api/notes": {"METHODS": ["POST"]}},
        },
    }
    client.post("/api/notes", data={"a": 1}, content_type="application/json")
    drain()
    assert seen.paths["/api/notes"] == 1
    assert ShadowTally.objects.get(route="/api/notes").compared == 1
    assert not ShadowDifference.objects.exists()  # same body went to both


def test_sampling_rate_per_route(client: Client, settings: SettingsWrapper, seen: Seen) -> None:
    settings.STRANGLER = {
        **settings.STRANGLER,
        "SHADOW": {**settings.STRANGLER["SHADOW"], "ROUTES": {"/api/items": {"SAMPLE": 0.0}}},
    }
    for _ in range(5):
        client.get("/api/items")
        client.get("/page")
    drain()
    assert seen.paths["/api/items"] == 0
    assert seen.paths["/page"] == 5


@pytest.mark.parametrize("shadow_mode", ["threads"])
@pytest.mark.timeout(30)  # a blocking submit would hang here: the gate never opens by itself
def test_queue_overflow_is_counted_and_never_blocks_in_threads(
    client: Client, settings: SettingsWrapper, seen: Seen
) -> None:
    settings.STRANGLER = {
        **settings.STRANGLER,
        "SHADOW": {**settings.STRANGLER["SHADOW"], "QUEUE_SIZE": 2, "WORKERS": 1},
    }
    workers = shadow_workers()
    assert isinstance(workers, LocalWorkers)
    gate = threading.Event()
    workers.pool.submit(gate.wait)  # type: ignore[arg-type] # the one worker is held
    for _ in range(10):
        assert client.get("/api/items").status_code == 200
    assert seen.paths["/api/items"] == 0  # every answer came while the worker was held
    gate.set()
    drain()
    # Two fit in the queue, the worker held one gate job: seven dropped.
    tally = ShadowTally.objects.get(route="/api/items")
    assert tally.compared + tally.dropped == 10
    assert tally.dropped >= 7
    assert shadow_report()["dropped"] == tally.dropped


@pytest.mark.parametrize("shadow_mode", ["process"])
@pytest.mark.timeout(60)  # a blocking submit would hang here: the child never resumes by itself
def test_a_stopped_child_process_fills_the_socket_and_drops_are_counted_never_blocks(
    client: Client, seen: Seen
) -> None:
    client.get("/page")
    drain()  # the child runs
    workers = shadow_workers()
    assert isinstance(workers, Sidecar)
    assert workers.pid is not None
    os.kill(workers.pid, signal.SIGSTOP)
    sent = 0
    try:
        # Each job carries a 200 kB answer: the socket is full after a few dozen.
        while workers.unsent_drops == 0 and sent < 500:
            assert client.get("/api/large").status_code == 200
            sent += 1
        dropped_in_front = workers.unsent_drops
    finally:
        os.kill(workers.pid, signal.SIGCONT)
    assert dropped_in_front >= 1
    drain()
    tally = ShadowTally.objects.get(route="/api/large")
    # The front's drops travelled to the child; a queue of 1000 took the rest.
    assert tally.compared + tally.dropped == sent
    assert tally.dropped >= dropped_in_front
    assert seen.paths["/api/large"] == tally.compared
    assert not ShadowDifference.objects.exists()


def test_an_answer_over_max_body_is_compared_by_status_and_headers_only(
    client: Client, settings: SettingsWrapper
) -> None:
    settings.STRANGLER = {
        **settings.STRANGLER,
        "SHADOW": {**settings.STRANGLER["SHADOW"], "MAX_BODY": 10},
    }
    client.get("/api/items-dropped")  # the bodies differ, but neither is compared
    client.get("/api/items-status")  # the status still is
    drain()
    [difference] = ShadowDifference.objects.all()
    assert difference.fields == ["status"]
    assert ShadowTally.objects.get(route="/api/items-dropped").compared == 1


def test_the_copy_is_handed_over_once_the_server_closes_django_answer(seen: Seen) -> None:
    import io
    from wsgiref.util import setup_testing_defaults

    from django.core.handlers.wsgi import WSGIHandler

    environ: dict[str, Any] = {"PATH_INFO": "/api/items", "wsgi.input": io.BytesIO(b"")}
    setup_testing_defaults(environ)
    result = WSGIHandler()(environ, lambda *args: None)  # type: ignore[arg-type]
    assert json.loads(b"".join(result))["total"] == 2
    drain()
    assert seen.paths["/api/items"] == 0  # the server has not closed the answer yet
    result.close()
    drain()
    assert seen.paths["/api/items"] == 1
    assert ShadowTally.objects.get(route="/api/items").compared == 1
