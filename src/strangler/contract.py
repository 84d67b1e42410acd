"""The uni-directional rule as an import-linter contract: Flask code never imports Django.

The Flask app may import ``strangler.flask`` (and what it is built on:
``strangler.identity.flask``, ``strangler.identity.tokens``), which import no
Django; everything else in ``strangler`` is the Django side. The contract is
generated for the user's Flask package and checked by import-linter, which
follows indirect imports too (Flask code importing a helper that imports
Django breaks it).
"""

from __future__ import annotations

import pkgutil

import strangler

# The Flask side of the toolkit: modules the Flask app may import.
# Kept equal to the project's own import contract by tests/test_contract.py.
FLASK_SIDE = frozenset(
    {
        "strangler",
        "strangler.flask",
        "strangler.identity",
        "strangler.identity.flask",
        "strangler.identity.flask_users",
        "strangler.identity.tokens",
    }
)


def django_side_modules() -> list[str]:
    """Every ``strangler`` module or package the Flask side must not import, sorted.

    A package is listed whole unless part of it is on the Flask side, in which
    case its other modules are listed one by one.
    """
    forbidden = []

    def walk(package: str, paths: list[str]) -> None:
        for info in pkgutil.iter_modules(paths, prefix=package + "."):
            if info.name not in FLASK_SIDE:
                forbidden.append(info.name)
            elif info.ispkg:
                module = __import__(info.name, fromlist=["__path__"])
                walk(info.name, list(module.__path__))

    walk("strangler", list(strangler.__path__))
    return sorted(forbidden)


def contract_toml(package: str) -> str:
    """The contract for ``package`` in ``pyproject.toml`` form (``[tool.importlinter]``)."""
    forbidden = ["django", *django_side_modules()]
    lines = [
        "[tool.importlinter]",
        f'root_packages = ["{package}", "strangler"]',
        "include_external_packages = true",
        "",
        "[[tool.importlinter.contracts]]",
        f'name = "{package} (the Flask app) imports neither Django nor the Django side of '
        'django-strangler"',
        'type = "forbidden"',
        f'source_modules = ["{package}"]',
        "forbidden_modules = [",
        *(f'    "{module}",' for module in forbidden),
        "]",
    ]
    return "\n".join(lines) + "\n"
