"""A session engine whose store fails like a database that went away (for test_issuer)."""

from __future__ import annotations

from typing import Any

from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.db import OperationalError


class SessionStore(DatabaseSessionStore):
    def load(self) -> dict[str, Any]:
        raise OperationalError("the database went away")
