"""``manage.py strangler_routes``: what is ported, what is forwarded, what conflicts."""

from __future__ import annotations

import json
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from strangler.inventory import FlaskAppError, build_inventory, flask_app_path
from strangler.traffic import hits_by_route, read_traffic


class Command(BaseCommand):
    help = (
        "List every Flask rule and Django pattern by method with who answers it: ported "
        "(Django answers, Flask still has it), forwarded (Flask answers), django_only, or "
        "conflict (a rule sends it to Django, which would answer 404 or 405). Progress is "
        "counted by route x method and by recorded traffic. Reads STRANGLER['FLASK_APP']."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--json",
            action="store_true",
            help="print the inventory as JSON (the format in docs/porting.md)",
        )
        parser.add_argument(
            "--fail-under",
            type=float,
            metavar="PERCENT",
            help="exit with status 1 when less than PERCENT of the Flask routes are ported "
            "(for CI)",
        )
        parser.add_argument(
            "--no-traffic", action="store_true", help="do not read recorded traffic from the cache"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        threshold = options["fail_under"]
        if threshold is not None and not 0 <= threshold <= 100:
            raise CommandError(f"--fail-under takes a percentage from 0 to 100, not {threshold}.")
        if flask_app_path() is None:
            raise CommandError(
                "Set STRANGLER['FLASK_APP'] to the Flask app's import path "
                "('legacy.app:app') so the inventory can read its routes."
            )
        traffic = None if options["no_traffic"] else hits_by_route(read_traffic())
        try:
            inventory = build_inventory(traffic or None)
        except FlaskAppError as exc:
            raise CommandError(f"STRANGLER['FLASK_APP'] cannot be loaded: {exc}.") from None
        if options["json"]:
            self.stdout.write(json.dumps(inventory.as_json(), indent=2))
        else:
            self._table(inventory)
        if threshold is not None and inventory.progress_routes * 100 < threshold:
            self.stderr.write(
                f"{inventory.progress_routes:.1%} of the Flask routes are ported, under the "
                f"required {threshold:g}%."
            )
            raise SystemExit(1)

    def _table(self, inventory: Any) -> None:
        width = max((len(entry.route) for entry in inventory.routes), default=10)
        header = f"{'ROUTE':<{width}}  {'METHODS':<18} {'OWNER':<12} {'HITS':>7}  NOTE"
        self.stdout.write(header)
        for entry in inventory.routes:
            style = {"conflict": self.style.ERROR, "ported": self.style.SUCCESS}.get(
                entry.owner, str
            )
            self.stdout.write(
                f"{entry.route:<{width}}  {','.join(entry.methods):<18} "
                f"{style(f'{entry.owner:<12}')} {entry.hits:>7}  {entry.note}"
            )
        traffic = inventory.progress_traffic
        self.stdout.write(
            f"\nported: {inventory.progress_routes:.1%} of Flask's routes x methods; "
            + (f"{traffic:.1%} of recorded traffic" if traffic is not None else "no traffic yet")
        )
