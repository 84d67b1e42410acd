"""The messages between a front process and its shadow child (strangler/shadow/channel.py)."""

from __future__ import annotations

import socket

import pytest

from strangler.shadow.channel import JOBS, decode, encode, sidecar_supported, socket_pair

pytestmark = pytest.mark.skipif(not sidecar_supported(), reason="needs AF_UNIX SOCK_SEQPACKET")


def test_a_message_is_read_back_whole_by_one_recv() -> None:
    front, child, limit = socket_pair()
    try:
        front.send(encode(JOBS, {"/r": 2}, ["a", b"x" * 5000]))
        front.send(encode(JOBS, {}, "second"))
        assert decode(child.recv(limit)) == (JOBS, {"/r": 2}, ["a", b"x" * 5000])
        assert decode(child.recv(limit)) == (JOBS, {}, "second")
    finally:
        front.close()
        child.close()


def test_the_limit_is_a_message_that_fits_and_a_full_socket_refuses_at_once() -> None:
    front, child, limit = socket_pair()
    try:
        front.send(b"x" * limit, socket.MSG_DONTWAIT)  # the largest message fits
        refused = None
        for _ in range(1000):  # nobody reads: the socket fills, then refuses at once
            try:
                front.send(b"x" * limit, socket.MSG_DONTWAIT)
            except BlockingIOError as exc:
                refused = exc
                break
        assert refused is not None
        assert len(child.recv(limit)) == limit
    finally:
        front.close()
        child.close()


def test_eof_when_the_other_end_closes() -> None:
    front, child, limit = socket_pair()
    front.close()
    assert child.recv(limit) == b""
    child.close()


@pytest.mark.parametrize(
    ("data", "message"),
    [(b"not a pickle", "not a shadow message"), (encode("other", {}, None), "kind 'other'")],
)
def test_anything_else_is_refused_by_name(data: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        decode(data)
