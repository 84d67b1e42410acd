"""RouteSwitch: validation, normalised methods, and a migration that matches the model."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command

from strangler.models import RouteSwitch


def test_the_migrations_match_the_model(db) -> None:
    call_command("makemigrations", "strangler", "--check", "--dry-run", verbosity=0)


@pytest.mark.parametrize(
    ("methods", "stored"),
    [("", ""), ("get", "GET"), ("HEAD,GET", "GET"), (" put , get ", "GET,PUT"), ("HEAD", "HEAD")],
)
def test_methods_are_stored_the_way_the_front_door_reads_them(methods: str, stored: str) -> None:
    switch = RouteSwitch(pattern="/a/*", methods=methods, owner="django")
    switch.full_clean(validate_unique=False, validate_constraints=False)
    assert switch.methods == stored


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"pattern": "a/*"}, "pattern"),
        ({"methods": "GET POST"}, "methods"),
        ({"owner": "nginx"}, "owner"),
        ({"percent": 101}, "percent"),
    ],
)
def test_bad_switches_name_the_field(fields: dict, field: str) -> None:
    switch = RouteSwitch(**{"pattern": "/a/*", "owner": "django", **fields})
    with pytest.raises(ValidationError) as raised:
        switch.full_clean(validate_unique=False, validate_constraints=False)
    assert set(raised.value.message_dict) == {field}


def test_an_admin_change_reaches_the_front_door(admin_client, django_capture_on_commit_callbacks):
    from strangler.routing import decide

    assert decide("GET", "/api/users/7").owner == "django"
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/admin/strangler/routeswitch/add/",
            {"pattern": "/api/users/*", "methods": "get", "owner": "flask", "percent": 100},
        )
    assert response.status_code == 302, response.content
    assert RouteSwitch.objects.get().methods == "GET"
    assert decide("GET", "/api/users/7").owner == "flask"
    assert decide("PUT", "/api/users/7").owner == "flask"  # Flask's already: no view allows it
    assert decide("GET", "/api/things/7").owner == "django"
