"""``manage.py strangler_keys``: make a signing key pair and print both sides' settings."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from strangler.identity.tokens import ALGORITHMS, KeyConfigError, generate_key_pair


class Command(BaseCommand):
    help = (
        "Make a key pair for the identity token Django sends to Flask, and print the "
        "settings to paste on both sides: the private key for Django's "
        "STRANGLER['IDENTITY'], the public key for Flask's STRANGLER_VERIFYING_KEYS. "
        "Nothing is written to disk; keep the private key in your secret store, not in "
        "source control. To rotate keys, add the new public key on Flask first, then "
        "switch Django's SIGNING_KEY, then drop the old public key (docs/identity.md)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--algorithm",
            choices=ALGORITHMS,
            default="EdDSA",
            help="EdDSA (Ed25519, the default) or ES256 (P-256): Flask gets only a public "
            "key and cannot mint tokens. HS256: one shared random secret, separate from "
            "SECRET_KEY; Flask can then mint tokens too.",
        )
        parser.add_argument(
            "--kid",
            help="Key id to put in the tokens (default: the RFC 7638 thumbprint of the key, "
            "which both sides compute on their own). A date such as 2026-11 reads well in "
            "logs during a rotation.",
        )
        parser.add_argument(
            "--json",
            action="store_true",
            help='Print {"algorithm", "kid", "private_key", "public_key"} as JSON, for scripts '
            "that put the keys in a secret store.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        algorithm: str = options["algorithm"]
        try:
            private, public, thumbprint = generate_key_pair(algorithm)
        except KeyConfigError as exc:
            raise CommandError(str(exc)) from None
        kid: str = options["kid"] or thumbprint
        if options["json"]:
            document = {
                "algorithm": algorithm,
                "kid": kid,
                "private_key": private,
                "public_key": public,
            }
            self.stdout.write(json.dumps(document, indent=2))
            return
        self.stdout.write(self._django_settings(algorithm, kid, private, options["kid"]))
        self.stdout.write("")
        self.stdout.write(self._flask_settings(algorithm, kid, public))
        if algorithm == "HS256":
            self.stderr.write(
                "HS256: the same secret is on both sides, so Flask could mint tokens. "
                "Prefer EdDSA unless something forces a shared secret."
            )

    @staticmethod
    def _django_settings(algorithm: str, kid: str, private: str, explicit_kid: str | None) -> str:
        lines = [
            "# Django settings.py (keep the key out of source control, e.g. read it from",
            "# the environment: os.environ['STRANGLER_SIGNING_KEY']).",
            'STRANGLER["IDENTITY"] = {',
            f'    "ALGORITHM": "{algorithm}",',
            f'    "SIGNING_KEY": """{private.strip()}""",' if "\n" in private else "",
            f'    "SIGNING_KEY": "{private}",' if "\n" not in private else "",
            f'    "KEY_ID": "{kid}",' if explicit_kid else f"    # kid: {kid}",
            "}",
        ]
        return "\n".join(line for line in lines if line)

    @staticmethod
    def _flask_settings(algorithm: str, kid: str, public: str) -> str:
        key = f'"""{public.strip()}"""' if "\n" in public else f'"{public}"'
        return "\n".join(
            [
                "# Flask config (app.config), next to DjangoIdentity(app).",
                f'STRANGLER_ALGORITHMS = ["{algorithm}"]',
                "STRANGLER_VERIFYING_KEYS = {",
                f'    "{kid}": {key},',
                "}",
            ]
        )
