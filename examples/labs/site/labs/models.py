"""Models over the tables Alembic built, first written by ``manage.py strangler_models``.

``Sample``, ``Tag`` and ``Event`` are Django's now: their migration was
faked by ``safemigrate`` after it checked the tables match, and the legacy
SQLAlchemy models mark them ``strangler_owner: django`` so Alembic leaves them
alone. ``LegacyUser`` stays the legacy app's (``managed = False``).
"""

from __future__ import annotations

from django.db import models

from strangler.db.fields import NaiveDateTimeField
from strangler.db.schemas import schema_table


class LegacyUser(models.Model):
    """The legacy app's users table; Flask still owns it."""

    id = models.AutoField(primary_key=True)
    username = models.CharField(max_length=80, unique=True)
    email = models.CharField(max_length=254, unique=True)
    password_hash = models.CharField(max_length=255)
    role = models.CharField(max_length=20)
    active = models.BooleanField()
    created_at = NaiveDateTimeField()  # naive `timestamp`, UTC

    class Meta:
        managed = False
        db_table = "users"

    def __str__(self) -> str:
        return self.username


class Tag(models.Model):
    id = models.AutoField(primary_key=True)
    name = models.CharField(max_length=50, unique=True)

    class Meta:
        db_table = schema_table("labs", "tag")

    def __str__(self) -> str:
        return self.name


class Sample(models.Model):
    id = models.AutoField(primary_key=True)
    name = models.CharField(max_length=100)
    lab = models.CharField(max_length=50)
    collected_on = models.DateField()
    notes = models.TextField()
    owner = models.ForeignKey(LegacyUser, models.DO_NOTHING, db_index=False)
    created_at = NaiveDateTimeField()  # naive `timestamp`, UTC
    tags = models.ManyToManyField(Tag, through="SampleTag", related_name="samples")

    class Meta:
        db_table = schema_table("labs", "sample")

    def __str__(self) -> str:
        return self.name

    def as_json(self) -> dict[str, object]:
        """The legacy API's representation, key for key (the Flask POST answers the same)."""
        return {
            "id": self.id,
            "name": self.name,
            "lab": self.lab,
            "collected_on": self.collected_on.isoformat(),
            "owner": self.owner.username,
            "tags": sorted(tag.name for tag in self.tags.all()),
        }


class SampleTag(models.Model):
    id = models.AutoField(primary_key=True)
    sample = models.ForeignKey(Sample, models.DO_NOTHING, db_index=False)
    tag = models.ForeignKey(Tag, models.DO_NOTHING, db_index=False)

    class Meta:
        db_table = schema_table("labs", "sample_tags")
        constraints = [
            models.UniqueConstraint(fields=["sample", "tag"], name="sample_tags_sample_tag_uniq"),
        ]


class Experiment(models.Model):
    """Still the legacy app's table (``managed = False``): Django only reads it."""

    id = models.AutoField(primary_key=True)
    title = models.CharField(max_length=200)
    sample = models.ForeignKey(Sample, models.DO_NOTHING, db_index=False)
    status = models.CharField(max_length=20)
    started_at = NaiveDateTimeField()  # naive `timestamp`, UTC

    class Meta:
        managed = False
        db_table = schema_table("labs", "experiment")


class Result(models.Model):
    id = models.AutoField(primary_key=True)
    experiment = models.ForeignKey(
        Experiment, models.DO_NOTHING, db_index=False, related_name="results"
    )
    metric = models.CharField(max_length=50)
    value = models.FloatField()
    unit = models.CharField(max_length=20)
    recorded_at = NaiveDateTimeField()  # naive `timestamp`, UTC

    class Meta:
        managed = False
        db_table = schema_table("labs", "result")


class Event(models.Model):
    """The shared, append-only event log: both apps write to it."""

    id = models.AutoField(primary_key=True)
    at = NaiveDateTimeField(db_index=True)  # naive `timestamp`, UTC
    actor = models.CharField(max_length=80)
    kind = models.CharField(max_length=50)
    subject = models.CharField(max_length=200)
    detail = models.TextField()

    class Meta:
        db_table = schema_table("events", "event")
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.subject}"
