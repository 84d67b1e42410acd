"""The upstream-health state machine (``forwarding/health.py``), driven by a fake clock."""

from __future__ import annotations

import json
import logging
import math

import pytest
from django.test import Client
from hypothesis import given, settings
from hypothesis import strategies as st

from strangler.forwarding.errors import (
    BadRequestBody,
    UpstreamTimeout,
    UpstreamUnavailable,
    UpstreamUnreachable,
)
from strangler.forwarding.health import (
    Admission,
    Outcome,
    State,
    UpstreamBusy,
    UpstreamHealth,
    UpstreamKnownDown,
    outcome_of,
    waiting_on,
)
from tests.conftest import free_port


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make(
    down_after: int = 3, cool_off: float = 5.0, max_waiting: int | None = None
) -> tuple[UpstreamHealth, Clock]:
    clock = Clock()
    health = UpstreamHealth(
        down_after=down_after, cool_off=cool_off, max_waiting=max_waiting, clock=clock
    )
    return health, clock


def fail(health: UpstreamHealth, times: int = 1) -> None:
    for _ in range(times):
        health.finish(health.admit(), Outcome.UNREACHABLE)


def test_outcomes_count_only_what_says_the_upstream_cannot_be_reached() -> None:
    assert outcome_of(None) is Outcome.ANSWERED
    assert outcome_of(UpstreamTimeout("t")) is Outcome.UNREACHABLE
    assert outcome_of(UpstreamUnreachable("refused")) is Outcome.UNREACHABLE
    # A garbled answer or a dropped connection: the upstream is there.
    assert outcome_of(UpstreamUnavailable("invalid response")) is Outcome.UNKNOWN
    assert outcome_of(BadRequestBody(400, "short body")) is Outcome.UNKNOWN


def test_known_down_after_n_consecutive_failures_then_one_probe_after_the_cool_off() -> None:
    health, clock = make(down_after=3, cool_off=5.0)
    fail(health, 2)
    health.finish(health.admit(), Outcome.ANSWERED)  # a success resets the count
    fail(health, 2)
    health.finish(health.admit(), Outcome.UNKNOWN)  # still closed: admitted
    fail(health)
    with pytest.raises(UpstreamKnownDown) as refused:
        health.admit()
    assert refused.value.status == 503
    assert refused.value.retry_after == 5
    clock.now += 4.5
    with pytest.raises(UpstreamKnownDown) as refused:
        health.admit()
    assert refused.value.retry_after == 1
    clock.now += 0.5
    probe = health.admit()
    assert probe.probe
    # While the probe is under way, everyone else still fails fast.
    with pytest.raises(UpstreamKnownDown):
        health.admit()
    health.finish(probe, Outcome.ANSWERED)
    assert not health.admit().probe


def test_a_failed_probe_opens_for_another_cool_off() -> None:
    health, clock = make(down_after=1, cool_off=2.0)
    fail(health)
    clock.now += 2.0
    probe = health.admit()
    clock.now += 1.0  # the probe itself took a while
    health.finish(probe, Outcome.UNREACHABLE)
    with pytest.raises(UpstreamKnownDown) as refused:
        health.admit()
    assert refused.value.retry_after == 2
    clock.now += 2.0
    assert health.admit().probe


def test_a_probe_that_learnt_nothing_lets_the_next_request_probe() -> None:
    health, clock = make(down_after=1, cool_off=2.0)
    fail(health)
    clock.now += 2.0
    health.finish(health.admit(), Outcome.UNKNOWN)
    assert health.admit().probe


def test_unknown_outcomes_neither_count_nor_reset() -> None:
    health, _ = make(down_after=2)
    fail(health)
    health.finish(health.admit(), Outcome.UNKNOWN)
    fail(health)
    with pytest.raises(UpstreamKnownDown):
        health.admit()


def test_zero_never_marks_the_upstream_down() -> None:
    health, _ = make(down_after=0)
    fail(health, 50)
    health.finish(health.admit(), Outcome.ANSWERED)


def test_waiting_is_bounded_and_places_are_given_back() -> None:
    health, _ = make(max_waiting=2)
    first, second = health.admit(), health.admit()
    with pytest.raises(UpstreamBusy) as refused:
        health.admit()
    assert refused.value.status == 503
    health.finish(first, Outcome.ANSWERED)
    health.finish(first, Outcome.ANSWERED)  # a second finish is ignored
    assert health.waiting == 1
    third = health.admit()
    health.finish(second, Outcome.UNKNOWN)
    health.finish(third, Outcome.UNKNOWN)
    assert health.waiting == 0


def test_waiting_on_records_the_outcome_of_what_it_wraps() -> None:
    health, _ = make(down_after=1, max_waiting=1)

    def time_out() -> None:
        with waiting_on(health):
            assert health.waiting == 1
            raise UpstreamTimeout("no answer")

    with pytest.raises(UpstreamTimeout):
        time_out()
    assert health.waiting == 0
    with pytest.raises(UpstreamKnownDown), waiting_on(health):
        pytest.fail("a known-down upstream must not be tried")
    assert health.waiting == 0


def test_waiting_on_records_an_answer_when_what_it_wraps_returns() -> None:
    health, _ = make(down_after=2)
    with pytest.raises(UpstreamTimeout), waiting_on(health):
        raise UpstreamTimeout("no answer")
    assert health.failures == 1
    with waiting_on(health) as admission:
        assert health.waiting == 1
    assert admission.finished
    assert (health.failures, health.waiting) == (0, 0)


def test_an_unexpected_error_gives_the_place_back_and_counts_nothing() -> None:
    health, _ = make(down_after=1)
    with pytest.raises(RuntimeError), waiting_on(health):
        raise RuntimeError("bug")
    assert health.waiting == 0
    health.finish(health.admit(), Outcome.ANSWERED)


OPS = st.one_of(
    st.just(("admit",)),
    st.tuples(
        st.just("finish"),
        st.integers(min_value=0, max_value=20),
        st.sampled_from(list(Outcome)),
    ),
    st.tuples(st.just("tick"), st.floats(min_value=0.0, max_value=4.0)),
)


@settings(max_examples=300, deadline=None)
@given(
    ops=st.lists(OPS, max_size=60),
    down_after=st.integers(min_value=0, max_value=4),
    max_waiting=st.one_of(st.none(), st.integers(min_value=1, max_value=4)),
)
def test_any_sequence_of_outcomes_keeps_the_rules(
    ops: list[tuple[object, ...]], down_after: int, max_waiting: int | None
) -> None:
    """Over any interleaving of admissions, outcomes and time, the rules hold.

    Known down only when the last outcome that said anything was a failure;
    at most one probe at a time; the waiting count is exact and bounded;
    Retry-After within the cool-off; and never refused as down when the
    cool-off is over and no probe is under way.
    """
    cool_off = 3.0
    health, clock = make(down_after=down_after, cool_off=cool_off, max_waiting=max_waiting)
    outstanding: list[Admission] = []
    last_said: Outcome | None = None
    for op in ops:
        if op[0] == "admit":
            probing = any(a.probe for a in outstanding)
            over = clock.now >= health.open_until
            refused: Exception | None = None
            try:
                outstanding.append(health.admit())
            except (UpstreamKnownDown, UpstreamBusy) as error:
                refused = error
            if isinstance(refused, UpstreamKnownDown):
                assert last_said is Outcome.UNREACHABLE
                assert down_after > 0
                assert probing or not over
                assert refused.retry_after is not None
                assert 1 <= refused.retry_after <= math.ceil(cool_off)
            elif isinstance(refused, UpstreamBusy):
                assert max_waiting is not None
                assert len(outstanding) >= max_waiting
        elif op[0] == "finish" and outstanding:
            index = int(op[1]) % len(outstanding)  # type: ignore[call-overload]
            outcome = op[2]
            assert isinstance(outcome, Outcome)
            health.finish(outstanding.pop(index), outcome)
            if outcome is not Outcome.UNKNOWN:
                last_said = outcome
        elif op[0] == "tick":
            clock.now += float(op[1])  # type: ignore[arg-type]
        assert health.waiting == len(outstanding)
        assert max_waiting is None or health.waiting <= max_waiting
        assert sum(a.probe for a in outstanding) <= 1
        if any(a.probe for a in outstanding):
            assert health.state is not State.CLOSED or last_said is Outcome.ANSWERED


def test_the_front_answers_503_with_retry_after_while_flask_is_known_down(
    client: Client, settings: object, caplog: pytest.LogCaptureFixture
) -> None:
    """Through the middleware: a refused connection, then 503s that were never sent."""
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    settings.STRANGLER = {  # type: ignore[attr-defined]
        **settings.STRANGLER,  # type: ignore[attr-defined]
        "UPSTREAM": dead,
        "UPSTREAM_DOWN_AFTER": 1,
        "UPSTREAM_COOL_OFF": 30,
    }
    with caplog.at_level(logging.ERROR, logger="strangler.forwarding"):
        assert client.get("/legacy/x").status_code == 502
        down = client.get("/legacy/x")
        as_json = client.get("/legacy/x", HTTP_ACCEPT="application/json")
    assert down.status_code == 503
    assert 25 <= int(down["Retry-After"]) <= 30
    assert down.content.decode().startswith("the upstream application is down")
    assert json.loads(as_json.content)["error"] == "upstream_down"
    assert caplog.text.count("the upstream application is down") == 2
    # Django's own pages do not depend on Flask.
    assert client.get("/ported/").status_code == 200
