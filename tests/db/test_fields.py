"""``NaiveDateTimeField`` on the naive ``DateTime`` columns of a Flask-SQLAlchemy app."""

from __future__ import annotations

import datetime
import io
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from django.core.management import call_command
from django.db import connections, models
from django.test import override_settings
from django.test.utils import isolate_apps
from django.utils import timezone
from sqlalchemy.pool import NullPool

from strangler.db.catalog import read_catalog
from strangler.db.drift import find_drift
from strangler.db.fields import NaiveDateTimeField
from tests.db.conftest import FLASK_DB, FlaskApp, sqlalchemy_url, uses_flask_db
from tests.db.flask_app import db
from tests.db.test_modelgen import assert_formatted, load

pytestmark = uses_flask_db

UTC = datetime.UTC
PARIS = datetime.timezone(datetime.timedelta(hours=1))


@pytest.fixture
def flask_users(flask_pg: FlaskApp) -> Iterator[sa.Engine]:
    """The Flask app's tables, built by ``flask db upgrade``, and an engine as Flask has."""
    flask_pg.upgrade()
    engine = sa.create_engine(sqlalchemy_url(FLASK_DB), poolclass=NullPool)
    yield engine
    engine.dispose()


def flask_insert_user(engine: sa.Engine, username: str, created_at: datetime.datetime) -> None:
    with engine.begin() as conn:
        conn.execute(
            db.metadata.tables["user"].insert(),
            {"username": username, "email": f"{username}@example.org", "created_at": created_at},
        )


def flask_read_created(engine: sa.Engine, username: str) -> Any:
    table = db.metadata.tables["user"]
    with engine.connect() as conn:
        return conn.execute(
            sa.select(table.c.created_at).where(table.c.username == username)
        ).scalar_one()


class FlaskDatabaseRouter:
    """Sends one model's queries to the Flask app's database, as a project routes its models."""

    def __init__(self, model: type[models.Model]) -> None:
        self.model = model

    def db_for_read(self, model: type[models.Model], **hints: Any) -> str | None:
        return FLASK_DB if model is self.model else None

    db_for_write = db_for_read


@pytest.fixture
def user_model() -> Iterator[type[models.Model]]:
    """A Django model of the Flask app's ``user`` table, routed to its database."""
    with isolate_apps("tests.db.adopt_app"):

        class User(models.Model):
            username = models.CharField(max_length=80, unique=True)
            email = models.CharField(max_length=120)
            created_at = NaiveDateTimeField()
            last_seen = NaiveDateTimeField(null=True)

            class Meta:
                app_label = "strangler_adopt"
                managed = False
                db_table = "user"

        with override_settings(DATABASE_ROUTERS=[FlaskDatabaseRouter(User)]):
            yield User


def test_the_column_type_is_timestamp_without_time_zone(flask_users: sa.Engine) -> None:
    field = NaiveDateTimeField()
    flask_connection = connections[FLASK_DB]
    assert field.db_type(flask_connection) == "timestamp"
    column = read_catalog(flask_connection).items[("public", "user", "column", ("created_at",))]
    assert column.type == "timestamp"


def test_what_flask_wrote_reads_as_aware_utc(
    flask_users: sa.Engine, user_model: type[models.Model]
) -> None:
    naive_utc = datetime.datetime(2024, 3, 31, 1, 30, 15, 250000)
    flask_insert_user(flask_users, "ada", naive_utc)
    user: Any = user_model.objects.get(username="ada")
    assert user.created_at == naive_utc.replace(tzinfo=UTC)
    assert timezone.is_aware(user.created_at)
    assert user.last_seen is not None  # now(), the server default
    assert timezone.is_aware(user.last_seen)


def test_what_django_writes_flask_reads_as_naive_utc(
    flask_users: sa.Engine, user_model: type[models.Model]
) -> None:
    paris = datetime.datetime(2024, 7, 1, 12, 0, tzinfo=PARIS)
    with timezone.override("Europe/Paris"):
        user_model.objects.create(username="grace", email="g@example.org", created_at=paris)
    assert flask_read_created(flask_users, "grace") == datetime.datetime(2024, 7, 1, 11, 0)
    # Filters convert the same way, whatever the current time zone.
    with timezone.override("Asia/Tokyo"):
        assert user_model.objects.filter(created_at=paris).count() == 1
        assert user_model.objects.filter(created_at__gt=paris).count() == 0
    updated = user_model.objects.values_list("created_at", flat=True).get()
    assert updated == paris


@override_settings(USE_TZ=False)
def test_without_use_tz_values_pass_through_naive(
    flask_users: sa.Engine, user_model: type[models.Model]
) -> None:
    wall_clock = datetime.datetime(2024, 1, 2, 3, 4, 5)
    user_model.objects.create(username="linus", email="l@example.org", created_at=wall_clock)
    assert flask_read_created(flask_users, "linus") == wall_clock
    assert user_model.objects.values_list("created_at", flat=True).get() == wall_clock


@isolate_apps("tests.db.adopt_app")
def test_strangler_models_maps_naive_columns_and_passes_drift(flask_users: sa.Engine) -> None:
    out = io.StringIO()
    call_command(
        "strangler_models",
        "tests.db.flask_app:db.metadata",  # a dotted attribute path, as Flask-SQLAlchemy has it
        "--app-label",
        "strangler_adopt",
        stdout=out,
    )
    source = out.getvalue()
    assert_formatted(source)
    assert "created_at = NaiveDateTimeField()" in source
    assert "last_seen = NaiveDateTimeField(blank=True, null=True, db_default=Now())" in source
    assert "timestamp without time zone" not in source  # nothing left to warn about
    assert "schema_table" not in source  # every table is in public: nothing to import
    generated = load(source)
    for model in generated:
        assert model.check() == [], model
    assert find_drift(connections[FLASK_DB], generated, db.metadata) == []
