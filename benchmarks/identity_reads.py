"""A benchmark-only app: read the session and user of every forwarded request, mint nothing.

With it in ``INSTALLED_APPS`` (after ``strangler``), the front does what any
Django page does for a logged-in user (the session and the user row, read
exactly as identity reads them) and sends no token, so that
benchmarks/identity.py can show what identity costs *beyond* those reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.http import HttpRequest

from strangler.forwarding.signing import register_signer
from strangler.identity.issuer import load_user


class ReadsOnlySigner:
    """A RequestSigner that loads the user as identity would, and adds no header."""

    def owned_headers(self) -> Sequence[str]:
        return ()

    def runs_django_code(self) -> bool:
        return True

    def sign(self, request: HttpRequest, upstream: Any) -> list[tuple[str, str]]:
        load_user(request)  # the session row, then the user row, as identity_headers does
        return []


class ReadsOnlyConfig(AppConfig):
    name = "benchmarks.identity_reads"
    label = "bench_identity_reads"

    def ready(self) -> None:
        register_signer(ReadsOnlySigner())
