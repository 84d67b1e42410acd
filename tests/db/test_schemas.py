"""``strangler.db.schemas``: the names, and schema models on real PostgreSQL."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from pytest_django.fixtures import Settings as SettingsWrapper

from strangler.db.schemas import QualifiedName, qualify, schema_table, split_table
from tests.db.schema_app.models import Person, Sample, Tag


def test_schema_table_is_the_quoted_form_django_passes_through() -> None:
    assert schema_table("labs", "sample") == '"labs"."sample"'
    assert connection.ops.quote_name(schema_table("labs", "sample")) == '"labs"."sample"'


@pytest.mark.parametrize("bad", [("", "t"), ("s", ""), ('a"b', "t"), ("s", "a.b")])
def test_schema_table_refuses_names_it_cannot_quote(bad: tuple[str, str]) -> None:
    with pytest.raises(ValueError, match="without quotes or dots"):
        schema_table(*bad)


@pytest.mark.parametrize(
    ("db_table", "expected"),
    [
        ('"labs"."sample"', ("labs", "sample")),
        ('labs"."sample_tags', ("labs", "sample_tags")),
        ("sample", (None, "sample")),
        ('"sample"', (None, "sample")),
    ],
)
def test_split_table_reads_every_spelling(db_table: str, expected: tuple[str, str]) -> None:
    assert split_table(db_table) == QualifiedName(*expected)
    assert qualify(*expected) == (
        expected[1] if expected[0] is None else '"{}"."{}"'.format(*expected)
    )


def test_m2m_table_is_in_its_models_schema() -> None:
    through = Sample.tags.through._meta.db_table
    assert split_table(through) == ("stg_lab", "sample_tags")


def tables_in(*schemas: str) -> set[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT schemaname, tablename FROM pg_tables WHERE schemaname = ANY(%s)",
            [list(schemas)],
        )
        return set(cursor.fetchall())


@pytest.mark.django_db
def test_test_database_has_the_schemas_and_nothing_leaked_into_public() -> None:
    assert tables_in("stg_core", "stg_lab") == {
        ("stg_core", "person"),
        ("stg_lab", "tag"),
        ("stg_lab", "sample"),
        ("stg_lab", "sample_tags"),
    }
    names = {name for _, name in tables_in("public")}
    assert not names & {"person", "tag", "sample", "sample_tags"}


@pytest.mark.django_db
def test_crud_foreign_keys_and_many_to_many_across_schemas() -> None:
    ada = Person.objects.create(name="Ada")
    tag, other = Tag.objects.create(label="blood"), Tag.objects.create(label="urine")
    first = Sample.objects.create(name="S-1", owner=ada)
    second = Sample.objects.create(name="S-2", owner=ada)
    assert second.pk == first.pk + 1  # identity column in the schema
    first.tags.add(tag, other)
    second.tags.add(other)

    assert list(Sample.objects.filter(owner__name="Ada", tags__label="blood")) == [first]
    assert Person.objects.get(samples__tags=tag) == ada
    assert sorted(t.label for t in Tag.objects.filter(samples=second)) == ["urine"]

    Sample.objects.filter(pk=first.pk).update(name="S-1b")
    first.refresh_from_db()
    assert first.name == "S-1b"
    first.delete()
    assert list(Sample.objects.values_list("name", flat=True)) == ["S-2"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM stg_lab.sample_tags")
        assert cursor.fetchone()[0] == 1


@pytest.mark.django_db
def test_admin_lists_adds_and_filters_schema_models(
    admin_client: Client, settings: SettingsWrapper
) -> None:
    settings.ROOT_URLCONF = "tests.db.urls"
    ada = Person.objects.create(name="Ada")
    tag = Tag.objects.create(label="blood")
    response = admin_client.post(
        "/admin/strangler_schemas/sample/add/",
        {"name": "S-9", "owner": ada.pk, "tags": [tag.pk]},
    )
    assert response.status_code == 302, response.content
    sample = Sample.objects.get(name="S-9")
    assert list(sample.tags.all()) == [tag]
    response = admin_client.get(f"/admin/strangler_schemas/sample/?tags__id__exact={tag.pk}")
    assert response.status_code == 200
    assert b"S-9" in response.content


@pytest.mark.django_db
def test_introspection_finds_the_schema_table_not_a_namesake_on_search_path() -> None:
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE public.sample (decoy integer)")
        introspection = connection.introspection
        columns = {
            c.name for c in introspection.get_table_description(cursor, '"stg_lab"."sample"')
        }
        assert columns == {"id", "name", "owner_id"}
        constraints = introspection.get_constraints(cursor, Sample._meta.db_table)
        assert "stg_sample_name_idx" in constraints
        assert any(c["foreign_key"] == ("person", "id") for c in constraints.values())
        assert {c.name for c in introspection.get_table_description(cursor, "sample")} == {"decoy"}
        assert '"stg_lab"."sample_tags"' in introspection.table_names(cursor)
    existing = connection.introspection.django_table_names(only_existing=True)
    assert {'"stg_lab"."sample"', Sample.tags.through._meta.db_table} <= set(existing)


@pytest.mark.django_db(transaction=True)
def test_flush_empties_schema_tables_and_restarts_their_sequences() -> None:
    Person.objects.create(name="Ada")
    call_command("flush", interactive=False, reset_sequences=True)
    assert not Person.objects.exists()
    assert Person.objects.create(name="Bea").pk == 1


@pytest.mark.django_db
def test_inspectdb_of_schema_tables_keeps_cross_schema_foreign_keys() -> None:
    out = io.StringIO()
    call_command(
        "inspectdb", '"stg_lab"."sample"', '"stg_core"."person"', '"stg_lab"."tag"', stdout=out
    )
    source = out.getvalue()
    assert "class StgLabSample(models.Model):" in source
    assert "owner = models.ForeignKey('StgCorePerson', models.DO_NOTHING)" in source
    assert 'db_table = \'"stg_lab"."sample"\'' in source
    assert "label = models.CharField(unique=True, max_length=50)" in source
    assert "# Unable to inspect" not in source
    compile(source, "<inspectdb>", "exec")


@pytest.mark.django_db
def test_each_table_is_listed_once_and_schema_tables_are_found_on_search_path_too() -> None:
    with connection.cursor() as cursor:
        names = connection.introspection.table_names(cursor)
        assert "auth_user" in names
        assert '"public"."auth_user"' not in names
        cursor.execute("SET LOCAL search_path TO stg_lab, public")
        names = connection.introspection.table_names(cursor)
        assert "sample" in names  # visible now, so listed bare, as Django lists it
    existing = connection.introspection.django_table_names(only_existing=True)
    assert {'"stg_lab"."sample"', '"stg_core"."person"', "auth_user"} <= set(existing)


@pytest.mark.django_db
def test_inspectdb_schema_option_inspects_every_table_of_the_schema() -> None:
    out = io.StringIO()
    call_command("inspectdb", "--schema", "stg_lab", stdout=out)
    source = out.getvalue()
    classes = sorted(line for line in source.splitlines() if line.startswith("class "))
    assert classes == [
        "class StgLabSample(models.Model):",
        "class StgLabSampleTags(models.Model):",
        "class StgLabTag(models.Model):",
    ]
    # The key into stg_core is kept, naming the model inspectdb would write for it.
    assert "owner = models.ForeignKey('StgCorePerson', models.DO_NOTHING)" in source


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--schema", "stg_nowhere"], "No tables in schema 'stg_nowhere'"),
        (["auth_user", "--schema", "stg_lab"], "Name tables or give --schema, not both"),
    ],
)
def test_inspectdb_schema_option_bad_input(args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        call_command("inspectdb", *args, stdout=io.StringIO())
