"""What the cut-over remembers: the Django users whose Flask login is over.

Flask-Login keeps nothing in its session that names one login (no nonce, no
login time), and Flask re-signs the session (a new cookie string) whenever it
changes it, so "this cookie was used" cannot be remembered by the cookie's
bytes. What can be remembered is the user: once a user's Flask login has been
turned into a Django login, or that user has logged into or out of Django in
any way, no Flask cookie is ever accepted for them again. The record is a row,
not a cache entry, because a cache may evict it and an evicted record would
let a replayed cookie in.
"""

from __future__ import annotations

from typing import Any

from django.db import models


class FlaskLoginEnd(models.Model):
    """One Django user whose Flask session cookies the cut-over no longer accepts."""

    # The user's primary key as a string: no foreign key, so this table does
    # not depend on AUTH_USER_MODEL's migrations, and any pk type fits.
    user_key: models.CharField[str, str] = models.CharField(max_length=255, unique=True)
    ended_at: models.DateTimeField[Any, Any] = models.DateTimeField(auto_now_add=True)

    class Meta:
        app_label = "strangler"
        verbose_name = "ended Flask login"

    def __str__(self) -> str:
        return f"Flask login of user {self.user_key} ended {self.ended_at:%Y-%m-%d %H:%M}"
