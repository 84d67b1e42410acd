"""Book an instrument: a greenfield page, Django from day one."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from ..labs.events import record
from .forms import BookingForm
from .models import Booking, Instrument


@login_required
def instruments(request: HttpRequest) -> HttpResponse:
    form = BookingForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        booking = form.save(commit=False)
        booking.booked_by = request.user
        booking.save()
        subject = f"instrument:{booking.instrument_id}"
        when = booking.starts_at.isoformat()
        record(request.user.get_username(), "instrument.booked", subject, starts_at=when)
        messages.success(request, f"Booked {booking.instrument} at {booking.starts_at:%H:%M}.")
        return redirect("instruments")
    upcoming = Booking.objects.filter(ends_at__gte=timezone.now()).select_related(
        "instrument", "booked_by"
    )
    context = {"instruments": Instrument.objects.all(), "upcoming": upcoming, "form": form}
    return render(request, "instruments/index.html", context)
