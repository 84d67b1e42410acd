"""Learned noise (strangler/shadow/noise.py)."""

from __future__ import annotations

import json
import random

from strangler.shadow.compare import compare
from strangler.shadow.fields import Answer
from strangler.shadow.noise import NoiseModel


def answer(document: object) -> Answer:
    return Answer(200, [("Content-Type", "application/json")], json.dumps(document).encode())


def test_fields_that_differ_between_two_flask_answers_become_noise() -> None:
    noise = NoiseModel(warmup=1, sample=0.0)
    new = noise.learn(
        "/r", answer({"at": 1, "id": "a", "v": 1}), answer({"at": 2, "id": "b", "v": 1}), []
    )
    assert new == {"body.at", "body.id"}
    django = answer({"at": 9, "id": "z", "v": 2})
    flask = answer({"at": 3, "id": "c", "v": 1})
    assert compare(django, flask, headers=[], noise=noise.noisy("/r")).fields == ["body.v"]
    # Per route: another route learned nothing.
    assert compare(django, flask, headers=[], noise=noise.noisy("/other")).fields == [
        "body.at",
        "body.id",
        "body.v",
    ]


def test_noise_accumulates_and_is_reported() -> None:
    noise = NoiseModel(warmup=1, sample=0.0)
    noise.learn("/r", answer({"a": 1}), answer({"a": 2}), [])
    assert noise.learn("/r", answer({"a": 1, "b": 1}), answer({"a": 1, "b": 2}), []) == {"body.b"}
    assert noise.snapshot() == {"/r": ["body.a", "body.b"]}


def test_warmup_then_sampling() -> None:
    # Workers asking at once share the warm-up: it is counted when granted.
    noise = NoiseModel(warmup=2, sample=0.0, rng=random.Random(1))
    assert noise.wants_sample("/r")
    assert noise.wants_sample("/r")
    assert not any(noise.wants_sample("/r") for _ in range(100))
    assert noise.wants_sample("/other")  # warm-up is per route
    always = NoiseModel(warmup=0, sample=1.0)
    assert always.wants_sample("/r")


class SharedForTest:
    """A ``SharedNoise`` in a dict, as two processes would see one cache entry."""

    def __init__(self) -> None:
        self.entries: dict[str, set[str]] = {}

    def fields(self, route: str) -> frozenset[str] | None:
        entry = self.entries.get(route)
        return None if entry is None else frozenset(entry)

    def add(self, route: str, fields: set[str]) -> None:
        self.entries.setdefault(route, set()).update(fields)


def test_shared_noise_is_used_by_another_process_which_skips_its_warmup() -> None:
    shared = SharedForTest()
    first = NoiseModel(warmup=2, sample=0.0, shared=shared)
    assert first.wants_sample("/r")
    first.learn("/r", answer({"at": 1, "v": 1}), answer({"at": 2, "v": 1}), [])
    assert first.wants_sample("/r")
    first.learn("/r", answer({"v": 1}), answer({"v": 1}), [])  # warm-up done
    assert shared.entries == {"/r": {"body.at"}}
    # Another process (or this one restarted) knows it without asking Flask twice.
    second = NoiseModel(warmup=2, sample=0.0, shared=shared)
    assert not second.wants_sample("/r")
    assert second.noisy("/r").exact == frozenset({"body.at"})
    assert second.wants_sample("/other")  # a route nobody warmed up yet


def test_a_warmup_with_no_noise_is_shared_too() -> None:
    shared = SharedForTest()
    first = NoiseModel(warmup=1, sample=0.0, shared=shared)
    first.learn("/quiet", answer({"v": 1}), answer({"v": 1}), [])
    assert shared.entries == {"/quiet": set()}
    assert not NoiseModel(warmup=1, sample=0.0, shared=shared).wants_sample("/quiet")
