"""Writing to the shared event log from Django, as the legacy app does from Flask."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from .models import Event


def record(actor: str, kind: str, subject: str, **detail: object) -> Event:
    """Append an event; ``at`` is naive UTC on SQLite, like the legacy rows."""
    return Event.objects.create(
        at=datetime.now(UTC),
        actor=actor,
        kind=kind,
        subject=subject,
        detail=json.dumps(detail),
    )
