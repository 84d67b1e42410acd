"""The test project with identity and the cut-over on, for the live (gunicorn) front tests.

The signing key and Flask's secret key come from the environment, so that the
test starting the front can give the Flask app the matching public key.
"""

from __future__ import annotations

import os

from tests.settings import *  # noqa: F403
from tests.settings import MIDDLEWARE, STRANGLER

STRANGLER = {
    **STRANGLER,
    "IDENTITY": {
        "SIGNING_KEY": os.environ["STRANGLER_TEST_SIGNING_KEY"],
        "FLASK_SESSION": {"SECRET_KEY": os.environ["STRANGLER_TEST_FLASK_SECRET"]},
    },
}
ROOT_URLCONF = "tests.identity.urls"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "strangler.identity.cutover.FlaskSessionBackend",
]
_AUTH = "django.contrib.auth.middleware.AuthenticationMiddleware"
MIDDLEWARE = [
    *MIDDLEWARE[: MIDDLEWARE.index(_AUTH) + 1],
    "strangler.identity.cutover.FlaskSessionMiddleware",
    *MIDDLEWARE[MIDDLEWARE.index(_AUTH) + 1 :],
]
