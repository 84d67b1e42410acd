"""The settings reference is generated from conf.py; it must not fall behind."""

from __future__ import annotations

import runpy
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_settings_reference_is_up_to_date() -> None:
    render = runpy.run_path(str(ROOT / "scripts/settings_doc.py"))["render"]
    current = (ROOT / "docs/settings.md").read_text()
    assert current == render(), "run: python scripts/settings_doc.py > docs/settings.md"


def test_every_check_id_is_documented() -> None:
    import re

    source_ids = set()
    for path in (ROOT / "src/strangler").rglob("*.py"):
        source_ids |= set(re.findall(r'id="(strangler\.[EW]\d{3})"', path.read_text()))
    documented = set(re.findall(r"strangler\.[EW]\d{3}", (ROOT / "docs/checks.md").read_text()))
    assert source_ids, "no check ids found"
    assert source_ids - documented == set()
