"""``manage.py strangler_shadow``: what shadow mode found, for people and for scripts."""

from __future__ import annotations

import json
from typing import Any

from django.core.management import BaseCommand, CommandError, CommandParser

from ...shadow.store import shadow_report


class Command(BaseCommand):
    help = (
        "List the differences shadow mode recorded between Django's answers and Flask's "
        "(newest first), with how many requests were compared and how many were dropped "
        "because the shadow queue was full. --json prints "
        '{"compared": N, "dropped": N, "differences": [{"route", "method", "path", '
        '"status": [django, flask], "fields": [...], "at"}]} for scripts. '
        "Each difference, with both answers, is in the admin."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="Print JSON (format above).")
        parser.add_argument(
            "--limit",
            type=int,
            default=100,
            help="Show at most this many differences (default 100; counts are always totals).",
        )
        parser.add_argument("--route", help="Only this route, as listed (e.g. /api/items).")

    def handle(self, *args: Any, **options: Any) -> None:
        limit = options["limit"]
        if limit < 0:
            raise CommandError(f"--limit must be 0 or more, not {limit}.")
        report = shadow_report(limit=limit, route=options["route"])
        if options["json"]:
            self.stdout.write(json.dumps(report, indent=2))
            return
        self.stdout.write(
            f"{report['compared']} requests compared, {report['dropped']} dropped "
            f"(queue full), {len(report['differences'])} differences shown."
        )
        for item in report["differences"]:
            django, flask = item["status"]
            self.stdout.write(
                f"{item['at']}  {item['method']} {item['path']}  [{item['route']}]  "
                f"status {django}/{flask}  fields: {', '.join(item['fields']) or '-'}"
            )
