"""Settings of the Django front for benchmarks/shadow.py: the identity benchmark's front, shadowing.

startproject's stack with strangler first (``benchmarks/identity_settings.py``,
identity off). ``/api/items`` is Django's (a faithful port,
``benchmarks/shadow_app.py``). With ``BENCH_SHADOW=process`` or ``threads``
its owner is ``shadow`` at 100% sampling: Django answers and every request
is replayed to Flask (``BENCH_UPSTREAM``) and compared, by the front's shadow
child process or by threads in the front process (``SHADOW["PROCESS"]``);
tallies go to the SQLite file ``BENCH_DB`` that the benchmark migrated.
"""

from __future__ import annotations

import os

from benchmarks.identity_settings import *  # noqa: F403
from benchmarks.identity_settings import DATABASES, STRANGLER

ROOT_URLCONF = "benchmarks.shadow_app"
# Shadow workers write from their own threads or process: wait for SQLite's lock.
DATABASES["default"]["OPTIONS"] = {"timeout": 30}
_MODE = os.environ.get("BENCH_SHADOW", "0")
STRANGLER["SHADOW"] = {"SAMPLE": 1.0, "PROCESS": _MODE == "process"}
if _MODE in ("process", "threads"):
    STRANGLER["ROUTES"] = {"/api/items": "shadow"}
