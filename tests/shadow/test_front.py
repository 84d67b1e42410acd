"""Shadow mode through a live Django front (gunicorn), both entry paths, to a live Flask.

The front's shadow workers write to this test run's database; the tests
read it back. Requests go over real sockets with real cookies.
"""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from strangler.shadow.models import ShadowDifference, ShadowTally
from tests.conftest import Front, start_front
from tests.shadow.conftest import Keys
from tests.shadow.legacy import Seen
from tests.upstream import RunningServer

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(90)]


def this_runs_database_url() -> str:
    settings = connection.settings_dict
    return (
        f"postgres://{settings['USER']}@{settings['HOST'] or '127.0.0.1'}:"
        f"{settings['PORT'] or 5432}/{settings['NAME']}"
    )


@pytest.fixture(scope="module", params=["tests.wsgi:application", "tests.wsgi_fast:application"])
def front(
    request: pytest.FixtureRequest,
    legacy: RunningServer,
    shadow_keys: Keys,
    django_db_setup: Any,
    django_db_blocker: Any,
) -> Iterator[Front]:
    with django_db_blocker.unblock():
        database = this_runs_database_url()
    server = start_front(
        legacy.url,
        {
            "DJANGO_SETTINGS_MODULE": "tests.shadow.front_settings",
            "STRANGLER_TEST_SIGNING_KEY": shadow_keys.private,
            "DATABASE_URL": database,
        },
        app=request.param,
    )
    yield server
    server.process.terminate()
    server.process.wait(timeout=10)


def get(front: Front, path: str, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    connection_ = http.client.HTTPConnection("127.0.0.1", front.port, timeout=10)
    try:
        connection_.request("GET", path, headers={"Host": "127.0.0.1", **(headers or {})})
        response = connection_.getresponse()
        return response.status, json.loads(response.read() or b"null")
    finally:
        connection_.close()


def eventually(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    """Wait for the front's shadow workers (another process) to have stored something."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the front's shadow workers did not store it in time")
        time.sleep(0.1)


def compared(route: str) -> int:
    """Requests of ``route`` the front's workers compared or dropped."""
    tally = ShadowTally.objects.filter(route=route).first()
    return tally.compared + tally.dropped if tally else 0


def get_compared(front: Front, path: str, headers: dict[str, str] | None = None) -> Any:
    """GET through the front, then wait until its copy was compared (the queue is tiny)."""
    before = compared(path)
    answer = get(front, path, headers)
    eventually(lambda: compared(path) == before + 1)
    assert ShadowTally.objects.get(route=path).dropped == 0
    return answer


@pytest.fixture(autouse=True)
def clean(seen: Seen) -> None:
    seen.clear()


def test_a_faithful_port_gives_no_difference_and_a_changed_one_is_caught(front: Front) -> None:
    for _ in range(3):
        assert get_compared(front, "/api/items")[0] == 200
    status, body = get_compared(front, "/api/items-dropped")
    assert (status, "name" in body["items"][0]) == (200, False)  # Django answered
    [difference] = ShadowDifference.objects.all()
    assert difference.path == "/api/items-dropped"
    assert difference.fields == ["body.items[0].name", "body.items[1].name"]


def test_learned_noise_gives_no_false_difference(front: Front) -> None:
    for _ in range(4):
        get_compared(front, "/api/stamp")
    assert not ShadowDifference.objects.exists()


def test_the_replayed_request_carries_the_same_identity(
    front: Front, django_user_model: Any, seen: Seen
) -> None:
    ada = django_user_model.objects.create_user("ada")
    client = Client()
    client.force_login(ada)
    cookie = f"sessionid={client.cookies['sessionid'].value}"
    assert get_compared(front, "/api/whoami", {"Cookie": cookie}) == (200, {"user": "ada"})
    assert not ShadowDifference.objects.exists()
    claims = [i["claims"] for i in seen.identities]
    assert claims
    assert all(c.get("sub") == str(ada.pk) for c in claims)


def test_queue_overflow_is_counted_and_never_blocks(front: Front, seen: Seen) -> None:
    # Flask takes 0.3 s per answer, the port none: one worker, a queue of two.
    for _ in range(12):
        assert get(front, "/api/slow") == (200, {"slow": True})
    # All twelve answered before Flask could have seen more than a few copies.
    assert seen.paths["/api/slow"] <= 6
    eventually(lambda: compared("/api/slow") == 12)
    tally = ShadowTally.objects.get(route="/api/slow")
    assert tally.dropped >= 6
    assert not ShadowDifference.objects.exists()
