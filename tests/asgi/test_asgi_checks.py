"""``asgi_checks.py``: the ASGI settings are validated by ``manage.py check``."""

from __future__ import annotations

import pytest
from django.test import override_settings

from strangler.asgi_checks import check_asgi_settings


@pytest.mark.parametrize("threads", [0, -1, 1.5, "8", True, None])
def test_bad_thread_count_is_e080(threads: object) -> None:
    with override_settings(STRANGLER={"ASGI_THREADS": threads}):
        assert [message.id for message in check_asgi_settings()] == ["strangler.E080"]


def test_default_and_good_values_pass() -> None:
    assert check_asgi_settings() == []
    with override_settings(STRANGLER={"ASGI_THREADS": 4}):
        assert check_asgi_settings() == []
