"""Models in two schemas, related across them."""

from __future__ import annotations

from django.db import models

from strangler.db.schemas import schema_table


class Person(models.Model):
    name = models.CharField(max_length=100, db_index=True)

    class Meta:
        db_table = schema_table("stg_core", "person")

    def __str__(self) -> str:
        return self.name


class Tag(models.Model):
    label = models.CharField(max_length=50, unique=True)

    class Meta:
        db_table = schema_table("stg_lab", "tag")

    def __str__(self) -> str:
        return self.label


class Sample(models.Model):
    name = models.CharField(max_length=100)
    owner = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="samples")
    tags = models.ManyToManyField(Tag, related_name="samples", blank=True)

    class Meta:
        db_table = schema_table("stg_lab", "sample")
        indexes = [models.Index(fields=["name"], name="stg_sample_name_idx")]

    def __str__(self) -> str:
        return self.name
