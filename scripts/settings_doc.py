"""Regenerate the tables of docs/settings.md from the comments in strangler/conf.py.

python scripts/settings_doc.py > docs/settings.md
"""

from __future__ import annotations

import sys
from pathlib import Path

CONF = Path(__file__).resolve().parent.parent / "src/strangler/conf.py"

INTRO = """# Settings

Everything is one dict, `STRANGLER = {...}`, in your Django settings. Keys left out take
the defaults below; `IDENTITY` and `SHADOW` are merged key by key over their own
defaults. The source of truth is `src/strangler/conf.py` (this page is generated from it by
`scripts/settings_doc.py`); `manage.py check` reports unknown keys and bad values
(see [checks.md](checks.md)).
"""


def rows(source: str, name: str) -> list[tuple[str, str, str]]:
    """(key, default, comment) for each entry of the dict literal ``name``."""
    lines = source.splitlines()
    start = lines.index(f"{name}: dict[str, Any] = {{")
    found: list[tuple[str, str, str]] = []
    comment: list[str] = []
    for line in lines[start + 1 :]:
        text = line.strip()
        if text == "}":
            break
        if text.startswith("#"):
            comment.append(text.lstrip("# "))
        elif text.startswith('"'):
            key, _, default = text.partition(":")
            found.append(
                (key.strip('"'), default.strip().rstrip(","), " ".join(comment).replace("|", "\\|"))
            )
            comment = []
    return found


def render() -> str:
    source = CONF.read_text()
    out = [INTRO, "| key | default | meaning |", "|---|---|---|"]
    out += [f"| `{k}` | `{d}` | {c} |" for k, d, c in rows(source, "DEFAULTS")]
    for title, name in (
        ("`IDENTITY`", "IDENTITY_DEFAULTS"),
        (
            '`IDENTITY["FLASK_SESSION"]` (the cut-over from Flask\'s login)',
            "FLASK_SESSION_DEFAULTS",
        ),
        ('`IDENTITY["LEGACY_USERS"]` (the Flask app\'s own users table)', "LEGACY_USERS_DEFAULTS"),
        ("`SHADOW` (shadow mode and recording, see [shadow.md](shadow.md))", "SHADOW_DEFAULTS"),
    ):
        out += ["", f"## {title}", "", "| key | default | meaning |", "|---|---|---|"]
        out += [f"| `{k}` | `{d}` | {c} |" for k, d, c in rows(source, name)]
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
