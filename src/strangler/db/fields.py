"""Model fields for columns that Django's own fields do not describe exactly.

``NaiveDateTimeField`` is for the column SQLAlchemy's ``DateTime()`` makes, the
default of nearly every Flask app: ``timestamp without time zone`` on
PostgreSQL. Django's ``DateTimeField`` is ``timestamp with time zone`` there,
so a model using it for such a column fails ``strangler_drift`` and a migration
creating it is refused by ``safemigrate`` (rightly: the columns differ).

A naive column holds wall-clock times without saying in which zone. The field
takes them to be UTC, which is what a Flask app writing ``datetime.utcnow()``
(or ``server_default=func.now()`` on a server whose ``TimeZone`` is UTC)
stores:

* with ``USE_TZ = True`` values read are aware datetimes in UTC, and aware
  values written are converted to UTC and stored without their offset, so
  Django code sees the same aware datetimes as with any ``DateTimeField``;
* with ``USE_TZ = False`` values pass through naive and unchanged, as Django's
  ``DateTimeField`` does.

On other databases it is Django's ``DateTimeField`` unchanged (SQLite's
``datetime`` stores no zone either, and Django already reads it as UTC).

Date-part lookups (``__date``, ``__year``, ``__hour``) are right while the
current time zone is UTC; in another one PostgreSQL reads the naive value as
that zone's wall-clock time, so filter on ranges of aware datetimes instead.
"""

from __future__ import annotations

import datetime
from typing import Any

from django.conf import settings
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import DateTimeField
from django.utils import timezone

__all__ = ["NaiveDateTimeField"]


class NaiveDateTimeField(DateTimeField):  # type: ignore[type-arg]
    """A ``DateTimeField`` stored as ``timestamp without time zone``, in UTC."""

    description = "Date (with time), stored without a time zone (UTC)"

    def db_type(self, connection: BaseDatabaseWrapper) -> str | None:
        if connection.vendor == "postgresql":
            return "timestamp"
        return super().db_type(connection)

    def get_db_prep_value(
        self, value: Any, connection: BaseDatabaseWrapper, prepared: bool = False
    ) -> Any:
        if connection.vendor != "postgresql":
            return super().get_db_prep_value(value, connection, prepared)
        if not prepared:
            value = self.get_prep_value(value)
        if isinstance(value, datetime.datetime) and timezone.is_aware(value):
            # Sent naive, so the session's TimeZone cannot shift it on the way in.
            value = timezone.make_naive(value, datetime.UTC)
        return value

    def from_db_value(self, value: Any, expression: Any, connection: BaseDatabaseWrapper) -> Any:
        """Naive values read are UTC: aware when ``USE_TZ``, as they are written."""
        if isinstance(value, datetime.datetime) and settings.USE_TZ and timezone.is_naive(value):
            return value.replace(tzinfo=datetime.UTC)
        return value
