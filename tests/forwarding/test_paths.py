"""The canonical path: the one Flask routes on, or a 400 when the two could disagree."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

import pytest
from werkzeug.routing import Map, RequestRedirect, Rule

from strangler.forwarding.paths import AmbiguousPath, canonical_path


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("/billing/1", "/billing/1"),
        ("//billing/1", "/billing/1"),
        ("///billing//1", "/billing/1"),
        ("/%2fbilling/1", "/billing/1"),
        ("/billing%2F1", "/billing/1"),
        ("/caf%C3%A9", "/caf\u00e9"),
        ("/caf%E9", "/caf\ufffd"),  # Werkzeug's reading of bytes that are not UTF-8
        ("/.well-known/x", "/.well-known/x"),
        ("/a..b/...", "/a..b/..."),
        ("", "/"),
    ],
)
def test_canonical_path(raw: str, canonical: str) -> None:
    assert canonical_path(raw) == canonical


@pytest.mark.parametrize(
    "raw",
    [
        "/billing/1%0a",
        "/billing/1%0D",
        "/a%00b",
        "/a%09b",
        "/a%7fb",
        "/a\x01b",
        "/./x",
        "/x/.",
        "/x/..",
        "/x/%2e%2e/y",
        "/x/%2E/y",
        "/x%2f..%2fy",
    ],
)
def test_paths_the_frameworks_could_read_differently_are_refused(raw: str) -> None:
    with pytest.raises(AmbiguousPath) as info:
        canonical_path(raw)
    assert info.value.status == 400


@pytest.mark.parametrize("raw", ["//billing/1", "///billing/1", "/%2fbilling/1", "/billing//1"])
def test_werkzeug_routes_the_canonical_path(raw: str) -> None:
    # What Flask's router does with the decoded path: the rule it matches is the
    # one the canonical path names (merge_slashes redirects to it).
    urls = Map([Rule("/billing/<int:id>", endpoint="billing")]).bind("front")
    try:
        endpoint, _ = urls.match(unquote(raw))
    except RequestRedirect as redirect:  # merge_slashes: redirected to the merged path
        endpoint, _ = urls.match(urlsplit(redirect.new_url).path)
    assert endpoint == "billing"
    assert urls.match(canonical_path(raw))[0] == "billing"
