"""A benchmark-only app: one Django front, identity off / reads only / on, chosen per request.

Comparing two gunicorn processes on a busy machine measures their scheduling
as much as identity; with this app in ``INSTALLED_APPS`` (after ``strangler``)
the same front process serves every configuration, chosen by the benchmark's
``X-Bench-Identity`` request header:

* ``off``: no token (identity off);
* ``reads``: the session and the user are read exactly as identity reads them
  (what any Django page pays for a logged-in user), and no token is sent;
* anything else: identity as configured (``strangler.identity.issuer``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.http import HttpRequest

from strangler.forwarding.signing import register_signer
from strangler.identity.issuer import IdentitySigner, load_user

MODE_HEADER = "HTTP_X_BENCH_IDENTITY"


class ModeSigner:
    """The identity signer, or a stand-in for it, as the request asks."""

    def __init__(self) -> None:
        self.identity = IdentitySigner()

    def owned_headers(self) -> Sequence[str]:
        return self.identity.owned_headers()

    def runs_django_code(self, request: HttpRequest) -> bool:
        if request.META.get(MODE_HEADER) == "off":
            return False
        return self.identity.runs_django_code(request) or request.META.get(MODE_HEADER) == "reads"

    def sign(self, request: HttpRequest, upstream: Any) -> list[tuple[str, str]]:
        mode = request.META.get(MODE_HEADER)
        if mode == "off":
            return []
        if mode == "reads":
            load_user(request)  # the session row, then the user row
            return []
        return self.identity.sign(request, upstream)


class ModesConfig(AppConfig):
    name = "benchmarks.identity_modes"
    label = "bench_identity_modes"

    def ready(self) -> None:
        register_signer(ModeSigner())
