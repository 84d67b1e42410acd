"""A helper that reaches into the Django side (what the contract must catch)."""

from strangler.routing import decide

DECIDE = decide
