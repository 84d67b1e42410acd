from django.contrib import admin

from .models import Booking, Instrument

admin.site.register(Instrument)
admin.site.register(Booking)
