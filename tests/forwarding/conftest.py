from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client


@pytest.fixture
def client() -> Iterator[Client]:
    """Django's test client, closing every response at the end as a WSGI server would.

    A streamed forwarded response holds its upstream connection until it is
    read or closed; tests that only look at the status line leave it open.
    """
    client = Client()
    responses: list[Any] = []
    request = client.request

    def tracked(**kwargs: Any) -> Any:
        response = request(**kwargs)
        responses.append(response)
        return response

    client.request = tracked  # type: ignore[method-assign]
    yield client
    for response in responses:
        response.close()
