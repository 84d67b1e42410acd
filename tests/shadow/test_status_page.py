"""Shadow's part of the status page (``/_strangler/``)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from strangler.shadow.store import count
from tests.shadow.conftest import stored_difference

pytestmark = pytest.mark.django_db


def test_the_status_page_lists_recent_differences(client: Client, django_user_model: Any) -> None:
    client.force_login(django_user_model.objects.create_user("viewer", is_staff=True))
    count("/api/items", compared=5, differing=1)
    stored_difference(target="/api/items?page=<script>1</script>")
    page = client.get("/_strangler/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Shadow differences" in html
    assert "5 requests compared with Flask, 1 differed, 0 dropped" in html
    assert "<code>body.items[0].name</code>" in html
    assert "<script>1</script>" not in html
