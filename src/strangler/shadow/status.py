"""What the status page (``/_strangler/``) shows about shadow mode.

The page's view calls ``shadow_status()`` and includes
``strangler/shadow/_differences.html`` with its result as ``shadow``.
"""

from __future__ import annotations

from typing import Any

from .store import recent_differences, shadow_totals


def shadow_status(limit: int = 20) -> dict[str, Any]:
    """Totals and the newest differences, for ``strangler/shadow/_differences.html``."""
    return {**shadow_totals(), "differences": recent_differences(limit)}
