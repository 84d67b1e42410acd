"""Admin registrations of the ``strangler`` app's models."""

from __future__ import annotations

# Shadow mode's tables (differences, tallies, recorded requests), read-only.
from .shadow import admin as shadow_admin  # noqa: F401
