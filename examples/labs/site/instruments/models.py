"""Instruments and their bookings: Django's own tables, beside Django's auth tables."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Instrument(models.Model):
    name = models.CharField(max_length=100, unique=True)
    location = models.CharField(max_length=100)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Booking(models.Model):
    instrument = models.ForeignKey(Instrument, models.CASCADE, related_name="bookings")
    booked_by = models.ForeignKey(settings.AUTH_USER_MODEL, models.CASCADE)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    purpose = models.CharField(max_length=200)

    class Meta:
        ordering = ["starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")),
                name="booking_ends_after_start",
            )
        ]

    def __str__(self) -> str:
        return f"{self.instrument} {self.starts_at:%Y-%m-%d %H:%M}"
