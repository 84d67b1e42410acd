"""``strangler.db.state``: items read from model states equal those of rendered models."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.db import connection
from django.db.migrations.loader import MigrationLoader

from strangler.db.catalog import read_catalog
from strangler.db.model_items import model_items, models_with_tables
from strangler.db.state import referencing_models, state_items

APPS = ["strangler_adopt", "strangler_schemas", "auth", "contenttypes", "admin", "sessions"]


@pytest.mark.django_db
@pytest.mark.parametrize("app_label", APPS)
def test_state_items_match_the_rendered_models(app_label: str) -> None:
    state = MigrationLoader(connection).project_state()
    catalog = read_catalog(connection)
    keys = [key for key in state.models if key[0] == app_label]
    real = list(apps.get_app_config(app_label).get_models())
    with connection.schema_editor(collect_sql=True, atomic=False) as editor:
        from_state = state_items(connection, state, keys, catalog, editor)
        rendered = {}
        for model in models_with_tables(connection, real):
            rendered.update(model_items(connection, model, catalog, editor))
    if app_label == "strangler_schemas":
        # The one place Django itself disagrees: migrations give the auto-created
        # M2M table DEFAULT_AUTO_FIELD's id (integer), the real model the app's
        # default_auto_field (bigint). The state is what migrate creates.
        key = ("stg_lab", "sample_tags", "column", ("id",))
        assert from_state.pop(key).type == "integer"
        assert rendered.pop(key).type == "bigint"
    assert from_state == rendered
    assert from_state  # not vacuous


@pytest.mark.django_db
def test_referencing_models_follow_relations_across_apps() -> None:
    state = MigrationLoader(connection).project_state()
    assert referencing_models(state, [("auth", "user")]) >= {("admin", "logentry")}
    assert referencing_models(state, [("strangler_adopt", "person")]) == {
        ("strangler_adopt", "sample")
    }
