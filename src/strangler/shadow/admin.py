"""Admin pages for shadow's tables: read-only, since they are evidence, not settings.

Registered from ``strangler/admin.py`` (which Django's admin autodiscovers).
Differences can be deleted once dealt with; nothing can be added or edited.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join

from .models import RecordedRequest, ShadowDifference, ShadowTally


class ReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Rows are written by shadow and recording only."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ShadowDifference)
class ShadowDifferenceAdmin(ReadOnlyAdmin):
    list_display = ("at", "method", "path", "route", "statuses", "fields_summary", "source")
    list_filter = ("source", "method", "route")
    search_fields = ("path", "route")
    date_hierarchy = "at"
    fieldsets = (
        (None, {"fields": ("at", "source", "route", "method", "path", "identity", "statuses")}),
        ("What differs", {"fields": ("values_table",)}),
        ("Django's answer", {"fields": ("django_headers", "django_body")}),
        ("Flask's answer", {"fields": ("flask_headers", "flask_body")}),
        ("Request headers (redacted)", {"fields": ("request_headers",), "classes": ("collapse",)}),
    )
    readonly_fields = (
        "at",
        "source",
        "route",
        "method",
        "path",
        "identity",
        "statuses",
        "values_table",
        "django_headers",
        "django_body",
        "flask_headers",
        "flask_body",
        "request_headers",
    )

    @admin.display(description="status (Django / Flask)")
    def statuses(self, obj: ShadowDifference) -> str:
        return f"{obj.django_status} / {obj.flask_status}"

    @admin.display(description="fields")
    def fields_summary(self, obj: ShadowDifference) -> str:
        shown = ", ".join(obj.fields[:3])
        return shown + (f" (+{len(obj.fields) - 3})" if len(obj.fields) > 3 else "")

    @admin.display(description="field: Django / Flask")
    def values_table(self, obj: ShadowDifference) -> str:
        rows = format_html_join(
            "",
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
            ((path, _shown(pair[0]), _shown(pair[1])) for path, pair in obj.values.items()),
        )
        return format_html(
            "<table><tr><th>field</th><th>Django</th><th>Flask</th></tr>{}</table>", rows
        )


def _shown(value: str | None) -> str:
    return "(missing)" if value is None else value


@admin.register(ShadowTally)
class ShadowTallyAdmin(ReadOnlyAdmin):
    list_display = ("route", "compared", "differing", "dropped", "updated_at")
    search_fields = ("route",)


@admin.register(RecordedRequest)
class RecordedRequestAdmin(ReadOnlyAdmin):
    list_display = ("at", "method", "target", "route", "username")
    list_filter = ("method", "route")
    search_fields = ("target", "route", "username")
    readonly_fields = ("at", "route", "method", "target", "headers", "user_id", "username")
