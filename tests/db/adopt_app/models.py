"""Django's side of the tables that Alembic created in ``stga_core`` and ``stga_labs``."""

from __future__ import annotations

from django.db import models
from django.db.models.functions import Now

from strangler.db.schemas import schema_table


class Person(models.Model):
    name = models.CharField(max_length=100, db_index=True)

    class Meta:
        db_table = schema_table("stga_core", "person")


class Tag(models.Model):
    label = models.CharField(max_length=50, unique=True)

    class Meta:
        db_table = schema_table("stga_labs", "tag")


class Sample(models.Model):
    name = models.CharField(max_length=100)
    owner = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="samples")
    created = models.DateTimeField(db_default=Now())
    volume_ml = models.DecimalField(max_digits=8, decimal_places=2, null=True)
    tags = models.ManyToManyField(Tag, related_name="samples")

    class Meta:
        db_table = schema_table("stga_labs", "sample")
