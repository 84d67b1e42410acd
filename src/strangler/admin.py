"""``RouteSwitch`` in the Django admin: a change reaches every front within ``SWITCH_TTL``."""

from __future__ import annotations

from django.contrib import admin

from .models import RouteSwitch


@admin.register(RouteSwitch)
class RouteSwitchAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Switches, newest change first; saving publishes the table to every front."""

    list_display = ("pattern", "methods", "owner", "percent", "note", "updated_at")
    list_editable = ("owner", "percent")
    list_filter = ("owner",)
    search_fields = ("pattern", "note")
    ordering = ("pk",)  # the order the front door tries them: the first match wins


# Shadow mode's tables (differences, tallies, recorded requests), read-only.
from .shadow import admin as shadow_admin  # noqa: E402, F401
