from __future__ import annotations

from typing import Any

from django import forms

from .models import Booking


class BookingForm(forms.ModelForm):
    class Meta:
        model = Booking
        fields = ["instrument", "starts_at", "ends_at", "purpose"]
        widgets = {
            "starts_at": forms.DateTimeInput(attrs={"type": "datetime-local"}),
            "ends_at": forms.DateTimeInput(attrs={"type": "datetime-local"}),
        }

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        starts, ends, instrument = (
            data.get("starts_at"),
            data.get("ends_at"),
            data.get("instrument"),
        )
        if starts and ends and ends <= starts:
            raise forms.ValidationError("A booking must end after it starts.")
        if (
            starts
            and ends
            and instrument
            and Booking.objects.filter(
                instrument=instrument, starts_at__lt=ends, ends_at__gt=starts
            ).exists()
        ):
            raise forms.ValidationError(f"{instrument} is already booked then.")
        return data
