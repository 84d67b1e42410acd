"""Instrument booking: new work, written only in Django (the legacy app never had it)."""
