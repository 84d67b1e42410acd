"""Switches: the table in memory, the cache between fronts, canaries, failures."""

from __future__ import annotations

import json
import time
import urllib.request
from collections import Counter

import pytest
from django.core.cache import caches
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from hypothesis import given
from hypothesis import strategies as st

from strangler.models import RouteSwitch
from strangler.routing import decide
from strangler.switches import CACHE_KEY, canary_bucket, current_switches


def owner(method: str, path: str, key: str | None = None) -> str:
    return decide(method, path, sticky_key=key).owner


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run a block as if its transaction committed: on_commit callbacks (publishing) run."""

    def run():
        return django_capture_on_commit_callbacks(execute=True)

    return run


@pytest.fixture
def fresh_cache(settings):
    """A cache of this test's own."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "switch-tests",
        }
    }
    caches["default"].clear()
    yield caches["default"]
    caches["default"].clear()


@pytest.mark.django_db
def test_a_switch_wins_over_rules_and_urlconf(settings, fresh_cache, committed) -> None:
    settings.STRANGLER = {**settings.STRANGLER, "ROUTES": {"/api/legacy/**": "flask"}}
    assert owner("GET", "/api/users/7") == "django"
    with committed():
        RouteSwitch.objects.create(pattern="/api/users/*", owner="flask")
    assert owner("GET", "/api/users/7") == "flask"  # published on commit, used at once here
    with committed():
        RouteSwitch.objects.create(pattern="/api/legacy/*", methods="POST", owner="shadow")
    assert owner("POST", "/api/legacy/1") == "shadow"
    assert owner("GET", "/api/legacy/1") == "flask"
    with committed():
        RouteSwitch.objects.all().delete()
    assert owner("GET", "/api/users/7") == "django"


@pytest.mark.django_db
def test_the_hot_path_reads_neither_database_nor_cache_within_the_ttl(
    settings, fresh_cache, committed, django_assert_num_queries
) -> None:
    with committed():
        RouteSwitch.objects.create(pattern="/api/users/*", owner="flask")
    current_switches()
    gets: Counter[str] = Counter()
    original = fresh_cache.get

    def counting_get(*args, **kwargs):
        gets["get"] += 1
        return original(*args, **kwargs)

    fresh_cache.get = counting_get
    try:
        with django_assert_num_queries(0):
            for _ in range(200):
                assert owner("GET", "/api/users/7") == "flask"
    finally:
        del fresh_cache.get
    assert gets["get"] == 0


@pytest.mark.django_db
def test_a_change_made_elsewhere_arrives_after_the_ttl(settings, fresh_cache) -> None:
    settings.STRANGLER = {**settings.STRANGLER, "SWITCH_TTL": 0.2}
    assert owner("GET", "/api/users/7") == "django"
    # Another front wrote the table to the cache (this process did not see the save).
    fresh_cache.set(
        CACHE_KEY, [{"pattern": "/api/users/*", "methods": "", "owner": "flask", "percent": 100}]
    )
    assert owner("GET", "/api/users/7") == "django"  # within the TTL: the old table
    time.sleep(0.25)
    assert owner("GET", "/api/users/7") == "flask"


@pytest.mark.django_db
def test_a_cache_miss_reloads_from_the_database(settings, fresh_cache) -> None:
    settings.STRANGLER = {**settings.STRANGLER, "SWITCH_TTL": 0.1}
    RouteSwitch.objects.create(pattern="/api/users/*", owner="flask")
    fresh_cache.delete(CACHE_KEY)  # evicted, or a flushed Redis
    time.sleep(0.15)
    assert owner("GET", "/api/users/7") == "flask"
    assert fresh_cache.get(CACHE_KEY)[0]["pattern"] == "/api/users/*"  # put back


def test_canary_split_is_close_to_the_percent_and_sticky() -> None:
    keys = [f"session-{i}" for i in range(20000)]
    share = sum(canary_bucket(key) < 30 for key in keys) / len(keys)
    assert 0.28 < share < 0.32
    assert all(canary_bucket(k) == canary_bucket(k) for k in keys[:100])


@given(key=st.text(min_size=1), low=st.integers(0, 100), high=st.integers(0, 100))
def test_raising_a_canary_never_moves_a_client_out(key: str, low: int, high: int) -> None:
    low, high = sorted((low, high))
    inside_low = canary_bucket(key) < low
    assert not inside_low or canary_bucket(key) < high


@pytest.mark.django_db
def test_canary_through_decide(settings, fresh_cache, committed) -> None:
    with committed():
        RouteSwitch.objects.create(pattern="/legacy/**", owner="django", percent=25)
    owners = Counter(owner("GET", "/legacy/x", f"sess-{i}") for i in range(4000))
    assert 0.22 < owners["django"] / 4000 < 0.28
    assert owners["django"] + owners["flask"] == 4000
    sticky = {owner("GET", "/legacy/x", "sess-7") for _ in range(50)}
    assert len(sticky) == 1
    assert owner("GET", "/legacy/x", None) == "flask"  # no key: outside the canary


@pytest.mark.django_db
def test_bad_switches_are_refused_with_the_reason(fresh_cache) -> None:
    with pytest.raises(CommandError, match="pattern: route pattern 'api/x' must be a path"):
        call_command("strangler_switch", "api/x", "django")
    with pytest.raises(CommandError, match="'GET;PUT' is not an HTTP method"):
        call_command("strangler_switch", "/api/x", "django", "--methods", "GET;PUT")
    with pytest.raises(CommandError, match="percent"):
        call_command("strangler_switch", "/api/x", "django", "--percent", "120")
    with pytest.raises(CommandError, match="Say who answers"):
        call_command("strangler_switch", "/api/x")
    assert not RouteSwitch.objects.exists()


@pytest.mark.django_db
def test_strangler_switch_command(fresh_cache, capsys) -> None:
    call_command("strangler_switch", "/api/users/*", "flask", "--methods", "put,get")
    call_command(
        "strangler_switch", "/api/users/*", "shadow", "--methods", "GET,PUT,HEAD", "--percent", "10"
    )  # the same switch: methods are normalised
    capsys.readouterr()
    call_command("strangler_switch", "--json")
    data = json.loads(capsys.readouterr().out)
    assert data == {
        "switches": [
            {"pattern": "/api/users/*", "methods": ["GET", "PUT"], "owner": "shadow", "percent": 10}
        ]
    }
    call_command("strangler_switch", "/api/users/*", "--delete", "--methods", "GET,PUT")
    assert not RouteSwitch.objects.exists()
    with pytest.raises(CommandError, match="No switch for"):
        call_command("strangler_switch", "/api/users/*", "--delete")


def _get_json(url: str, timeout: float = 5) -> dict:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.load(response)


def _wait_until(predicate, timeout: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if predicate():
            return time.monotonic() - started
        time.sleep(0.05)
    raise AssertionError(f"not true after {timeout}s")


def _staff_session(client_cls=None):
    """A logged-in staff session with the switch permission (cookie for a live front)."""
    from django.contrib.auth.models import Permission, User
    from django.test import Client

    user = User.objects.create_user("lead", password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="change_routeswitch"))
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


def _post_switch(front_url: str, session: str, **fields: str) -> int:
    """Flip a switch through a front's status page, CSRF token and all, as a browser would."""
    import http.cookiejar
    import re
    import urllib.parse

    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.addheaders = [("Cookie", f"sessionid={session}")]
    page = opener.open(front_url + "/_strangler/", timeout=10).read().decode()
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert found is not None, "the status page has no switch form"
    token = found.group(1)
    csrf_cookie = next(c.value for c in jar if c.name == "csrftoken")
    opener.addheaders = [
        ("Cookie", f"sessionid={session}; csrftoken={csrf_cookie}"),
        ("Referer", front_url + "/_strangler/"),
    ]
    body = urllib.parse.urlencode({"csrfmiddlewaretoken": token, **fields}).encode()
    with opener.open(front_url + "/_strangler/switches", data=body, timeout=10) as response:
        return response.status


@pytest.mark.django_db(transaction=True)
def test_a_switch_flipped_on_one_front_reaches_another_and_survives_outages(
    upstream, throwaway_redis
) -> None:
    """Two gunicorn fronts (two processes), one real Redis, the real database.

    One worker each: gunicorn's workers share one listening socket and the kernel
    need not hand any request to a second worker, so a worker that saw no request
    between the flip and the outage would prove nothing (and fail the outage part:
    switches are refreshed on a worker's own requests).
    Front B's database is unreachable on purpose: it lives on the cache alone,
    then on its last known table once the cache is gone too.
    """
    import redis

    from tests.conftest import free_port, start_front

    ttl = 1.0
    database = connection.settings_dict
    env = {
        "STRANGLER_TEST_REDIS_URL": throwaway_redis.url,
        "STRANGLER_TEST_EXTRA": json.dumps({"SWITCH_TTL": ttl}),
        "DATABASE_URL": f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/"
        f"{database['NAME']}",
    }
    dead_db = {**env, "DATABASE_URL": f"postgres://postgres@127.0.0.1:{free_port()}/nowhere"}
    session = _staff_session()
    front_a = start_front(upstream.url, env)
    front_b = start_front(upstream.url, dead_db)
    try:
        path = "/api/users/7"
        for front in (front_a, front_b):
            assert _get_json(front.url + path)["by"] == "django"
        assert _post_switch(front_a.url, session, pattern="/api/users/*", owner="flask") == 200
        assert RouteSwitch.objects.get().owner == "flask"
        # Front B, another process that cannot reach the database, within the TTL.
        elapsed = _wait_until(
            lambda: all(_get_json(front_b.url + path).get("method") == "GET" for _ in range(6)),
            timeout=ttl + 5,
        )
        # Within the TTL, plus the requests' own time: six requests to each of two
        # workers, which on a loaded 2-core machine can take a second or two.
        assert elapsed <= ttl + 3.0
        assert _get_json(front_a.url + path)["method"] == "GET"  # Flask's echo answers

        # The cached table vanishes: front B cannot reach its database, keeps its table.
        redis.Redis.from_url(throwaway_redis.url).flushdb()
        time.sleep(ttl * 1.5)
        assert all(_get_json(front_b.url + path).get("method") == "GET" for _ in range(6))
        # Redis itself stops: both fronts keep serving with their last known switches.
        throwaway_redis.stop()
        time.sleep(ttl * 1.5)
        for front in (front_a, front_b):
            for _ in range(4):
                assert _get_json(front.url + path).get("method") == "GET"
            assert _get_json(front.url + "/api/things/3")["by"] == "django"
    finally:
        for front in (front_a, front_b):
            front.process.terminate()
            front.process.wait(timeout=10)


@pytest.mark.django_db
def test_the_canary_key_is_the_session_cookie_else_the_address(
    settings, fresh_cache, committed, rf
) -> None:
    from strangler.routing import decide_request

    with committed():
        RouteSwitch.objects.create(pattern="/legacy/**", owner="django", percent=50)
    inside = next(f"s{i}" for i in range(100) if canary_bucket(f"s{i}") < 50)
    outside = next(f"s{i}" for i in range(100) if canary_bucket(f"s{i}") >= 50)
    for _ in range(3):  # sticky
        assert (
            decide_request(rf.get("/legacy/x", HTTP_COOKIE=f"sessionid={inside}")).owner == "django"
        )
        assert (
            decide_request(rf.get("/legacy/x", HTTP_COOKIE=f"sessionid={outside}")).owner == "flask"
        )
    address = next(f"10.0.0.{i}" for i in range(1, 200) if canary_bucket(f"10.0.0.{i}") < 50)
    assert decide_request(rf.get("/legacy/x", REMOTE_ADDR=address)).owner == "django"


_segment = st.sampled_from(["a", "b", "*", "**", "x.y", "1"])


@given(
    patterns=st.lists(
        st.tuples(st.lists(_segment, min_size=1, max_size=3), st.sampled_from(["", "GET", "POST"])),
        min_size=1,
        max_size=6,
    ),
    path=st.lists(st.sampled_from(["a", "b", "x.y", "1", "", "a\nb"]), max_size=4),
    method=st.sampled_from(["GET", "HEAD", "POST"]),
)
def test_the_combined_regex_finds_the_same_switch_as_trying_each(patterns, path, method) -> None:
    from strangler.switches import SwitchSet, compile_switches

    rows = [
        {"pattern": "/" + "/".join(parts), "methods": methods, "owner": "flask", "percent": 100}
        for parts, methods in patterns
    ]
    switches = compile_switches(rows)
    target = "/" + "/".join(path)
    expected = next((s for s in switches if s.rule.matches(method, target)), None)
    assert SwitchSet(switches).first(method, target) is expected
