"""System checks for the ASGI front door (``strangler.asgi``): ids E080-E089 / W080-W089."""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Error, Tags, register

from .conf import DEFAULTS, get_conf


@register(Tags.compatibility)
def check_asgi_settings(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """``ASGI_THREADS`` bounds the in-process upstream's thread pool: a positive integer."""
    conf = get_conf()
    threads = conf.get("ASGI_THREADS", DEFAULTS["ASGI_THREADS"])
    if isinstance(threads, bool) or not isinstance(threads, int) or threads <= 0:
        return [
            Error(
                f"STRANGLER['ASGI_THREADS'] must be a positive integer, not {threads!r}.",
                hint=(
                    "It is how many forwarded requests the in-process upstream serves at once "
                    f"under strangler.asgi; the default is {DEFAULTS['ASGI_THREADS']}."
                ),
                id="strangler.E080",
            )
        ]
    return []
