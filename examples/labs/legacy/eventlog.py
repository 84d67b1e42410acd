"""Writing to the shared event log (``events.event``): append only, never updated."""

from __future__ import annotations

import json

from flask_login import current_user

from .db import db
from .models import Event


def record(kind: str, subject: str, **detail: object) -> None:
    """Append an event by the current user; committed with the caller's transaction."""
    actor = current_user.username if current_user.is_authenticated else "anonymous"
    db().add(Event(actor=actor, kind=kind, subject=subject, detail=json.dumps(detail)))
