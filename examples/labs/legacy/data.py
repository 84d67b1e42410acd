"""The lab's samples: the legacy app's data, which the Django port reads too."""

from __future__ import annotations

SAMPLES: dict[int, dict[str, object]] = {
    1: {"id": 1, "name": "Soil core A", "lab": "north"},
    2: {"id": 2, "name": "River water", "lab": "south"},
    3: {"id": 3, "name": "Leaf extract", "lab": "north"},
}
