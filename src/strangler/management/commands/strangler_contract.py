"""``manage.py strangler_contract``: check that the Flask package never imports Django."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import tempfile
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from strangler.contract import contract_toml
from strangler.inventory import flask_app_path


class Command(BaseCommand):
    help = (
        "Check the uni-directional rule with import-linter: the Flask package (from "
        "STRANGLER['FLASK_APP'], or --package) must not import Django or the Django side of "
        "django-strangler, directly or through other modules. Exits 1 when it does. "
        "--print writes the contract for your own pyproject.toml instead."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--package",
            help="the Flask app's top-level package (default: "
            "the package of STRANGLER['FLASK_APP'])",
        )
        parser.add_argument(
            "--print",
            action="store_true",
            dest="print_only",
            help="print the contract in pyproject.toml form and exit",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        package = options["package"] or _package_of_flask_app()
        if importlib.util.find_spec(package) is None:
            raise CommandError(
                f"No importable package {package!r} on sys.path; pass the Flask "
                f"app's top-level package with --package."
            )
        contract = contract_toml(package)
        if options["print_only"]:
            self.stdout.write(contract, ending="")
            return
        try:
            from importlinter.cli import lint_imports
        except ImportError:
            raise CommandError(
                "import-linter is not installed: pip install 'django-strangler[contract]'."
            ) from None
        with tempfile.TemporaryDirectory() as directory:
            config = Path(directory) / "pyproject.toml"
            config.write_text(contract)
            output = io.StringIO()
            with contextlib.redirect_stdout(output):
                status = lint_imports(config_filename=str(config), no_cache=True, no_logo=True)
        self.stdout.write(output.getvalue(), ending="")
        if status != 0:
            self.stderr.write(
                f"{package} imports Django or the Django side of the toolkit: "
                f"Flask code must not (see the chains above)."
            )
            raise SystemExit(1)


def _package_of_flask_app() -> str:
    path = flask_app_path()
    if not path:
        raise CommandError("Set STRANGLER['FLASK_APP'] ('legacy.app:app') or pass --package.")
    return path.partition(":")[0].split(".")[0]
