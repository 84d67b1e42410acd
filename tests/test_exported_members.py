"""Each package's ``__all__`` is sorted and names only what the package really exports."""

from __future__ import annotations

import importlib

import pytest


@pytest.mark.parametrize("name", ["strangler", "strangler.forwarding"])
def test_all_is_sorted_and_complete(name: str) -> None:
    module = importlib.import_module(name)
    exported = module.__all__
    assert exported == sorted(exported)
    for member in exported:
        assert hasattr(module, member), f"{name}.__all__ names missing {member!r}"


def test_top_level_package_imports_no_framework() -> None:
    import subprocess
    import sys

    code = (
        "import sys, strangler; "
        "bad = [m for m in ('django', 'flask') if m in sys.modules]; "
        "sys.exit(','.join(bad) or None)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, f"importing strangler imported {result.stderr.strip()}"
