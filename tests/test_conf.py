from __future__ import annotations

from strangler.conf import DEFAULTS, IDENTITY_DEFAULTS, get_conf


def test_defaults_fill_in_missing_keys(settings) -> None:
    settings.STRANGLER = {"UPSTREAM": "http://flask:8000"}
    conf = get_conf()
    assert conf["UPSTREAM"] == "http://flask:8000"
    assert conf["READ_TIMEOUT"] == DEFAULTS["READ_TIMEOUT"]


def test_nested_identity_is_merged_key_by_key(settings) -> None:
    settings.STRANGLER = {"IDENTITY": {"LIFETIME": 30}}
    identity = get_conf()["IDENTITY"]
    assert identity["LIFETIME"] == 30
    assert identity["HEADER"] == IDENTITY_DEFAULTS["HEADER"]


def test_changes_are_seen_at_once(settings) -> None:
    settings.STRANGLER = {"POOL_SIZE": 3}
    assert get_conf()["POOL_SIZE"] == 3
    settings.STRANGLER = {"POOL_SIZE": 4}
    assert get_conf()["POOL_SIZE"] == 4


def test_every_default_is_documented() -> None:
    from pathlib import Path

    import strangler.conf

    lines = Path(strangler.conf.__file__).read_text().splitlines()
    start = lines.index("DEFAULTS: dict[str, Any] = {")
    for key in DEFAULTS:
        index = next(
            i for i in range(start, len(lines)) if lines[i].strip().startswith(f'"{key}":')
        )
        assert lines[index - 1].strip().startswith("#"), f"STRANGLER[{key!r}] has no comment"
