"""System checks for ``STRANGLER["SHADOW"]`` (ids E070-E079 / W070-W079, in docs/checks.md)."""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Error, Tags, Warning, register

from ..conf import get_conf
from .settings import ShadowConfigError, parse_shadow

_HINTS = {
    "strangler.E070": "SHADOW is a dict of the keys in docs/settings.md, lists where lists are "
    'expected, e.g. {"SAMPLE": 0.1, "IGNORE": ["body.generated_at"]}.',
    "strangler.E071": "Shares (SAMPLE, NOISE_SAMPLE, RECORD) go from 0.0 to 1.0; sizes and "
    "counts are whole numbers (see docs/settings.md for the defaults).",
    "strangler.E072": 'Write per-route rules as {"/api/items/*": {"SAMPLE": 0.5, "IGNORE": '
    '[...], "METHODS": ["POST"]}}.',
    "strangler.E073": "Route patterns start with '/'; field patterns look like "
    "body.items[*].id or body.**.updated_at (see docs/shadow.md).",
    "strangler.E074": "Leave PROCESS at None (a child process where the platform allows it, "
    "threads elsewhere), or set False to run shadow work in the front's threads.",
}


@register(Tags.compatibility)
def check_shadow(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """``SHADOW`` parses, and every opt-in to replaying writes is pointed out."""
    raw = get_conf()["SHADOW"]
    try:
        shadow = parse_shadow(raw)
    except ShadowConfigError as exc:
        return [
            Error(
                f"STRANGLER['SHADOW'] is invalid: {exc}.",
                hint=_HINTS[exc.check_id],
                id=exc.check_id,
            )
        ]
    warnings: list[CheckMessage] = []
    for (_regex, rule), pattern in zip(shadow.routes, raw["ROUTES"], strict=True):
        if rule.unsafe_methods:
            methods = ", ".join(sorted(rule.unsafe_methods))
            warnings.append(
                Warning(
                    f"SHADOW['ROUTES'][{pattern!r}] replays {methods} requests to Flask: every "
                    f"such request Django answers is run a second time by Flask.",
                    hint="Only opt in when Flask's side effects are harmless or point at a "
                    "staging copy of the data (docs/shadow.md, 'Writes').",
                    id="strangler.W070",
                )
            )
    return warnings
