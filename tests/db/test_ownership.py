"""The ownership check (strangler.W040, E040) and the backend check (W041)."""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from django.conf import settings as django_settings
from django.core.checks import CheckMessage
from pytest_django.fixtures import Settings as SettingsWrapper

from strangler.db import checks
from strangler.db.ownership import OWNER_KEY, MetadataError, alembic_tables, load_metadata
from tests.db.adopt_app import models as adopt
from tests.db.legacy import models as legacy


@pytest.fixture
def metadata(settings: SettingsWrapper) -> None:
    settings.STRANGLER = {
        **settings.STRANGLER,
        "SQLALCHEMY_METADATA": "tests.db.legacy.models:Base",
    }


def ids(messages: list[CheckMessage]) -> list[str]:
    return [str(m.id) for m in messages]


def test_nothing_to_check_without_metadata() -> None:
    assert checks.check_table_ownership() == []


def test_tables_with_two_owners_are_reported(metadata: None) -> None:
    messages = checks.check_table_ownership()
    assert ids(messages) == ["strangler.W040"] * 4
    assert {m.obj for m in messages} == {
        adopt.Person,
        adopt.Tag,
        adopt.Sample,
        adopt.Sample.tags.through,
    }
    first = next(m for m in messages if m.obj is adopt.Sample)
    assert first.msg.startswith("Table stga_labs.sample is created by a Django migration")
    assert "strangler_owner" in str(first.hint)


@pytest.fixture
def person_handed_over() -> Iterator[None]:
    info = legacy.Base.metadata.tables["stga_core.person"].info
    info[OWNER_KEY] = "django"
    yield
    del info[OWNER_KEY]


def test_a_handed_over_table_has_one_owner(metadata: None, person_handed_over: None) -> None:
    reported = {m.obj for m in checks.check_table_ownership()}
    assert adopt.Person not in reported
    assert adopt.Sample in reported
    assert ("stga_core", "person") not in alembic_tables(legacy.Base.metadata)


@pytest.mark.parametrize(
    "path",
    [
        "legacy.models",
        "tests.db.nowhere:Base",
        "tests.db.legacy.models:Nope",
        "tests.db.legacy:VERSION_TABLE",
        42,
    ],
)
def test_metadata_that_cannot_be_loaded(settings: SettingsWrapper, path: object) -> None:
    settings.STRANGLER = {**settings.STRANGLER, "SQLALCHEMY_METADATA": path}
    messages = checks.check_table_ownership()
    assert ids(messages) == ["strangler.E040"]
    assert "cannot be loaded" in messages[0].msg


def test_schema_models_on_a_stock_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    assert checks.check_schema_backends() == []
    stock = {
        "default": {
            **django_settings.DATABASES["default"],
            "ENGINE": "django.db.backends.postgresql",
        }
    }
    monkeypatch.setattr(checks, "settings", SimpleNamespace(DATABASES=stock))
    messages = checks.check_schema_backends()
    assert ids(messages) == ["strangler.W041"]
    assert "'strangler.db.backends.postgresql'" in str(messages[0].hint)


def test_metadata_by_dotted_attribute_path() -> None:
    from tests.db.flask_app import db

    assert load_metadata("tests.db.flask_app:db.metadata") is db.metadata
    assert load_metadata("tests.db.flask_app:db") is db.metadata  # has a .metadata
    with pytest.raises(MetadataError, match=r"'tests.db.flask_app.db' has no attribute 'metadta'"):
        load_metadata("tests.db.flask_app:db.metadta")
