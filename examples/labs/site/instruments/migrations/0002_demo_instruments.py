"""The lab's three instruments, so the booking page has something to book."""

from django.db import migrations

INSTRUMENTS = [
    ("Spectrometer", "North lab, room 2"),
    ("Centrifuge", "South lab, room 1"),
    ("Sequencer", "East lab, basement"),
]


def add_instruments(apps, schema_editor):
    Instrument = apps.get_model("instruments", "Instrument")
    for name, location in INSTRUMENTS:
        Instrument.objects.get_or_create(name=name, defaults={"location": location})


class Migration(migrations.Migration):
    dependencies = [("instruments", "0001_initial")]
    operations = [migrations.RunPython(add_instruments, migrations.RunPython.noop)]
