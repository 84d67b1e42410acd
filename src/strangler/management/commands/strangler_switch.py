"""``manage.py strangler_switch``: list, set or remove run-time route switches."""

from __future__ import annotations

import json
from argparse import ArgumentParser
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from strangler.conf import get_conf
from strangler.models import RouteSwitch
from strangler.switches import publish_switches


class Command(BaseCommand):
    help = (
        "List the route switches, or set one: PATTERN OWNER sends the routes matching PATTERN "
        "(optionally only --methods) to OWNER (django, flask or shadow), for --percent of "
        "clients (sticky per session; the rest go to Flask). A switch wins over "
        "STRANGLER['ROUTES'] and reaches every front within STRANGLER['SWITCH_TTL'] seconds."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("pattern", nargs="?", help="route pattern, e.g. '/api/users/*'")
        parser.add_argument(
            "owner",
            nargs="?",
            choices=[c for c, _ in RouteSwitch.Owner.choices],
            help="who answers the matching routes",
        )
        parser.add_argument(
            "--methods",
            default="",
            help="comma-separated methods (GET,HEAD); default: every method",
        )
        parser.add_argument(
            "--percent",
            type=int,
            default=100,
            help="share of clients (0-100) the owner applies to; default 100",
        )
        parser.add_argument("--note", default="", help="why (shown in the admin and status page)")
        parser.add_argument(
            "--delete", action="store_true", help="remove the switch for PATTERN (and --methods)"
        )
        parser.add_argument("--json", action="store_true", help="print the switches as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        pattern, owner = options["pattern"], options["owner"]
        if options["delete"]:
            if not pattern:
                raise CommandError("--delete needs the PATTERN of the switch to remove.")
            self._delete(pattern, options["methods"])
        elif pattern and not owner:
            raise CommandError(
                f"Say who answers {pattern}: strangler_switch '{pattern}' django|flask|shadow."
            )
        elif pattern:
            self._set(pattern, owner, options)
        self._list(as_json=options["json"])

    def _set(self, pattern: str, owner: str, options: dict[str, Any]) -> None:
        switch = RouteSwitch(
            pattern=pattern,
            methods=options["methods"],
            owner=owner,
            percent=options["percent"],
            note=options["note"],
        )
        try:
            switch.full_clean(validate_unique=False, validate_constraints=False)
        except ValidationError as exc:
            problems = "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
            raise CommandError(f"Switch not saved: {problems}") from None
        with transaction.atomic():
            RouteSwitch.objects.update_or_create(
                pattern=switch.pattern,
                methods=switch.methods,
                defaults={"owner": owner, "percent": switch.percent, "note": switch.note},
            )
        self._published()

    def _delete(self, pattern: str, methods: str) -> None:
        probe = RouteSwitch(pattern=pattern, methods=methods, owner="flask")
        try:
            probe.clean()
        except ValidationError as exc:
            raise CommandError(f"No such switch: {exc.messages[0]}") from None
        deleted, _ = RouteSwitch.objects.filter(pattern=pattern, methods=probe.methods).delete()
        if not deleted:
            raise CommandError(
                f"No switch for {probe.methods + ' ' if probe.methods else ''}"
                f"{pattern}; run strangler_switch to list them."
            )
        self._published()

    def _published(self) -> None:
        ttl = get_conf()["SWITCH_TTL"]
        if publish_switches():
            self.stderr.write(f"Saved; every front sees it within {ttl} s.")
        else:
            self.stderr.write(
                self.style.WARNING(
                    "Saved in the database, but the cache could not be written: fronts keep their "
                    "last known switches until the cached table expires."
                )
            )

    def _list(self, *, as_json: bool) -> None:
        switches = list(RouteSwitch.objects.order_by("pk"))
        if as_json:
            data = {
                "switches": [
                    {
                        "pattern": s.pattern,
                        "methods": s.methods.split(",") if s.methods else [],
                        "owner": s.owner,
                        "percent": s.percent,
                    }
                    for s in switches
                ]
            }
            self.stdout.write(json.dumps(data, indent=2))
            return
        if not switches:
            self.stdout.write("No switches: STRANGLER['ROUTES'] and the URLconf decide.")
            return
        for s in switches:
            methods = s.methods or "*"
            self.stdout.write(
                f"{methods:<12} {s.pattern:<40} {s.owner:<7} {s.percent:>3}%  {s.note}"
            )
