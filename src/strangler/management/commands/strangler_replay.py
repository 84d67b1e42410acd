"""``manage.py strangler_replay``: recorded (or written) requests against Django and Flask."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import BaseCommand, CommandError, CommandParser
from django.test.utils import override_settings

from ...shadow.models import ShadowDifference
from ...shadow.replay import (
    Replayer,
    ReplayInputError,
    ReplayResult,
    default_host,
    read_file,
    read_recordings,
    replay_all,
    resolve_users,
)
from ...shadow.settings import SAFE_METHODS, ShadowConfigError, shadow_settings
from ...shadow.store import difference_summary, save_difference


class Command(BaseCommand):
    help = (
        "Send requests to Django's view (as if the route were ported) and to Flask (through "
        "the front door's forwarding, as the same user), compare the answers as live shadow "
        "does, and exit with status 1 when any differ: run it in CI against a staging copy "
        "before flipping a switch. Requests come from the recordings (STRANGLER['SHADOW']"
        "['RECORD']) or from --file: JSON lines or a .har export (docs/shadow.md)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--file",
            type=Path,
            help="Replay this file instead of the recordings: JSON lines, or HAR (*.har).",
        )
        parser.add_argument("--route", help="Only recordings of this path.")
        parser.add_argument(
            "--limit", type=int, default=1000, help="At most this many recordings (default 1000)."
        )
        parser.add_argument(
            "--host",
            help="Host header for both sides (default: the first name in ALLOWED_HOSTS).",
        )
        parser.add_argument(
            "--unsafe",
            action="store_true",
            help="Also replay POST, PUT, PATCH and DELETE from a file. Both Django and Flask "
            "then perform the writes: only ever against a staging copy.",
        )
        parser.add_argument(
            "--no-noise",
            action="store_true",
            help="Ask Flask once per request instead of twice (no learned noise).",
        )
        parser.add_argument(
            "--store",
            action="store_true",
            help="Also store the differences (listed by strangler_shadow and in the admin).",
        )
        parser.add_argument("--json", action="store_true", help="Print strangler_shadow's JSON.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            conf = shadow_settings()
        except ShadowConfigError as exc:
            raise CommandError(
                f"STRANGLER['SHADOW'] is invalid: {exc} (run manage.py check)."
            ) from None
        if options["limit"] < 1:
            raise CommandError(f"--limit must be 1 or more, not {options['limit']}.")
        try:
            if options["file"] is not None:
                requests = read_file(options["file"])
            else:
                requests = read_recordings(options["limit"], options["route"])
            unsafe = [r for r in requests if r.method not in SAFE_METHODS]
            if unsafe and not options["unsafe"]:
                raise ReplayInputError(
                    f"{unsafe[0].where}: {unsafe[0].method} would write on both sides; "
                    f"pass --unsafe to replay writes (against a staging copy only)"
                )
            users = resolve_users(requests)
        except ReplayInputError as exc:
            raise CommandError(str(exc)) from None
        if not requests:
            raise CommandError(
                "Nothing to replay: no recorded requests (set STRANGLER['SHADOW']['RECORD']) "
                "and no --file."
            )
        replayer = Replayer(
            conf, host=options["host"] or default_host(), learn_noise=not options["no_noise"]
        )
        differing: list[dict[str, Any]] = []
        unreachable = 0
        # Replayed requests are not traffic: they must not count towards "traffic ported".
        strangler = getattr(settings, "STRANGLER", {})
        with override_settings(STRANGLER={**strangler, "TRAFFIC": False}):
            results = list(replay_all(requests, replayer, users))
        for result in results:
            if result.comparison is None:
                unreachable += 1
                self.stderr.write(f"{result.request.where}: Flask did not answer (see the log)")
                continue
            if result.comparison.differs:
                differing.append(self._difference(result, store=options["store"]))
        compared = len(requests) - unreachable
        if options["json"]:
            report = {"compared": compared, "dropped": unreachable, "differences": differing}
            self.stdout.write(json.dumps(report, indent=2))
        else:
            for item in differing:
                django, flask = item["status"]
                self.stdout.write(
                    f"DIFF {item['method']} {item['path']}  [{item['route']}]  status "
                    f"{django}/{flask}  fields: {', '.join(item['fields'])}"
                )
            self.stdout.write(
                f"{compared} requests replayed, {len(differing)} differ"
                + (f", {unreachable} not answered by Flask" if unreachable else "")
                + "."
            )
        if differing or unreachable:
            raise CommandError(
                f"{len(differing)} of {len(requests)} requests differ"
                + (f" and {unreachable} got no answer from Flask" if unreachable else "")
                + ".",
                returncode=1,
            )

    def _difference(self, result: ReplayResult, *, store: bool) -> dict[str, Any]:
        assert result.flask is not None
        assert result.comparison is not None
        request = result.request
        difference = ShadowDifference(
            route=result.route,
            method=request.method,
            path=request.target,
            django_status=result.django.status,
            flask_status=result.flask.status,
            fields=result.comparison.fields,
        )
        if store:
            difference = save_difference(
                route=result.route,
                method=request.method,
                target=request.target,
                request_headers=request.headers,
                django=result.django,
                flask=result.flask,
                comparison=result.comparison,
                identity=request.user or "anonymous",
                conf=shadow_settings(),
                source=ShadowDifference.Source.REPLAY,
            )
        return difference_summary(difference)
