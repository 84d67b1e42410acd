from django.contrib import admin

from .models import Person, Sample, Tag

admin.site.register(Person)
admin.site.register(Tag)
admin.site.register(Sample, list_display=["name", "owner"], list_filter=["tags"])
