"""The toolkit's own tables.

``RouteSwitch``: a run-time override of who answers a route, editable in the
admin and with ``manage.py strangler_switch``; it wins over ``STRANGLER["ROUTES"]``.
``FlaskLoginEnd`` (the cut-over's memory) lives with identity, in ``identity/models.py``.
Shadow mode's models are defined in ``strangler.shadow.models``.
"""

from __future__ import annotations

from typing import Any

from django.core.validators import MaxValueValidator
from django.db import models

from .identity.models import FlaskLoginEnd

# Shadow mode's tables (migration 0003_shadow) live beside the code that uses them.
from .shadow.models import RecordedRequest, ShadowDifference, ShadowTally

__all__ = ["FlaskLoginEnd", "RecordedRequest", "RouteSwitch", "ShadowDifference", "ShadowTally"]


class RouteSwitch(models.Model):
    """Send a route (and optionally only some methods) to Django, Flask or shadow mode."""

    class Owner(models.TextChoices):
        DJANGO = "django", "Django"
        FLASK = "flask", "Flask"
        SHADOW = "shadow", "Shadow (Django answers, Flask compared)"

    pattern: models.CharField[str, str] = models.CharField(
        max_length=500, help_text='A route pattern as in STRANGLER["ROUTES"], e.g. /api/users/*'
    )
    methods: models.CharField[str, str] = models.CharField(
        max_length=200,
        blank=True,
        default="",
        help_text="Comma-separated HTTP methods (GET,HEAD); empty covers every method.",
    )
    owner: models.CharField[str, str] = models.CharField(max_length=10, choices=Owner.choices)
    percent: models.PositiveSmallIntegerField[int, int] = models.PositiveSmallIntegerField(
        default=100,
        validators=[MaxValueValidator(100)],
        help_text="Share of users (sticky per user or session) the owner applies to; "
        "the rest go to Flask.",
    )
    note: models.CharField[str, str] = models.CharField(max_length=500, blank=True, default="")
    updated_at: models.DateTimeField[Any, Any] = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(fields=["pattern", "methods"], name="strangler_switch_unique"),
        ]

    def clean(self) -> None:
        """Refuse a pattern, method list or owner the front door could not use."""
        from django.core.exceptions import ValidationError

        from .rules import OWNERS, RoutePatternError, make_rule

        # The owner's choices are validated by its field; here the pattern and methods.
        owner = self.owner if self.owner in OWNERS else "flask"
        try:
            rule = make_rule(self.pattern, self.methods, owner, where="this switch")
        except RoutePatternError as exc:
            field = "methods" if "HTTP method" in str(exc) else "pattern"
            raise ValidationError({field: str(exc)}) from None
        # Stored the way the front door reads it, so (pattern, methods) stays unique.
        methods = set(rule.methods or ())
        if "GET" in methods:
            methods.discard("HEAD")  # implied by GET
        self.methods = ",".join(sorted(methods))

    def __str__(self) -> str:
        methods = f"{self.methods} " if self.methods else ""
        return f"{methods}{self.pattern} -> {self.owner} ({self.percent}%)"
