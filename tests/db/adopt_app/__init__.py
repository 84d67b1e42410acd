"""The Django models that take over the legacy app's tables (``tests/db/legacy``)."""
