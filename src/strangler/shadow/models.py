"""Shadow's tables: differences found, counts per route, recorded requests.

Imported by ``strangler.models`` so that they belong to the ``strangler``
app (migration ``0003_shadow``). Everything stored here was redacted first
(``redact.py``): no cookie, token, ``Authorization`` or identity header.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils import timezone


class ShadowDifference(models.Model):
    """One request whose Django and Flask answers differed, with both answers."""

    class Source(models.TextChoices):
        SHADOW = "shadow", "Live shadow"
        REPLAY = "replay", "strangler_replay"

    route: models.CharField[str, str] = models.CharField(max_length=500, db_index=True)
    method: models.CharField[str, str] = models.CharField(max_length=16)
    path: models.CharField[str, str] = models.CharField(
        max_length=2000, help_text="Path and query string, secret parameters redacted."
    )
    django_status: models.PositiveSmallIntegerField[int, int] = models.PositiveSmallIntegerField()
    flask_status: models.PositiveSmallIntegerField[int, int] = models.PositiveSmallIntegerField()
    fields: models.JSONField[Any, Any] = models.JSONField(
        default=list, help_text="Paths of the fields that differ."
    )
    values: models.JSONField[Any, Any] = models.JSONField(
        default=dict, help_text="Field path -> [Django's value, Flask's value]."
    )
    identity: models.CharField[str, str] = models.CharField(
        max_length=300, blank=True, default="", help_text="Who the request ran as."
    )
    request_headers: models.JSONField[Any, Any] = models.JSONField(default=list)
    django_headers: models.JSONField[Any, Any] = models.JSONField(default=list)
    django_body: models.TextField[str, str] = models.TextField(blank=True, default="")
    flask_headers: models.JSONField[Any, Any] = models.JSONField(default=list)
    flask_body: models.TextField[str, str] = models.TextField(blank=True, default="")
    source: models.CharField[str, str] = models.CharField(
        max_length=10, choices=Source.choices, default=Source.SHADOW
    )
    at: models.DateTimeField[Any, Any] = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name = "shadow difference"

    def __str__(self) -> str:
        return f"{self.method} {self.path}: {', '.join(self.fields[:3])}"


class ShadowTally(models.Model):
    """How many requests of a route were compared, differed, or were dropped."""

    route: models.CharField[str, str] = models.CharField(max_length=500, unique=True)
    compared: models.PositiveBigIntegerField[int, int] = models.PositiveBigIntegerField(default=0)
    differing: models.PositiveBigIntegerField[int, int] = models.PositiveBigIntegerField(default=0)
    dropped: models.PositiveBigIntegerField[int, int] = models.PositiveBigIntegerField(default=0)
    updated_at: models.DateTimeField[Any, Any] = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["route"]
        verbose_name = "shadow tally"
        verbose_name_plural = "shadow tallies"

    def __str__(self) -> str:
        return f"{self.route}: {self.differing}/{self.compared} differ, {self.dropped} dropped"


class RecordedRequest(models.Model):
    """A safe request forwarded to Flask, kept for ``strangler_replay``."""

    route: models.CharField[str, str] = models.CharField(max_length=500, db_index=True)
    method: models.CharField[str, str] = models.CharField(max_length=16)
    target: models.CharField[str, str] = models.CharField(
        max_length=2000, help_text="Path and query string, secret parameters redacted."
    )
    headers: models.JSONField[Any, Any] = models.JSONField(
        default=list, help_text="[name, value] pairs, credentials redacted."
    )
    user_id: models.CharField[str, str] = models.CharField(
        max_length=100,
        blank=True,
        default="",
        help_text="pk of the user it ran as; empty: anonymous.",
    )
    username: models.CharField[str, str] = models.CharField(max_length=300, blank=True, default="")
    at: models.DateTimeField[Any, Any] = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.method} {self.target}"
