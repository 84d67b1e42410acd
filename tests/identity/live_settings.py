"""The test project as a team taking over a Flask-Login app configures it, for the live front.

Identity on, the cut-over on (mapping Flask's ids through the legacy users
table), legacy users logging in with their Werkzeug hashes, and the login and
logout routes. The signing key and Flask's secret key come from the
environment, so that the test starting the front can give the Flask app the
matching public key.
"""

from __future__ import annotations

import os

from tests.settings import *  # noqa: F403
from tests.settings import MIDDLEWARE, STRANGLER

STRANGLER = {
    **STRANGLER,
    "IDENTITY": {
        "SIGNING_KEY": os.environ["STRANGLER_TEST_SIGNING_KEY"],
        "FLASK_SESSION": {
            "SECRET_KEY": os.environ["STRANGLER_TEST_FLASK_SECRET"],
            "USER": "strangler.identity.legacy.user_for_legacy_id",
        },
        "LEGACY_USERS": {"TABLE": "user", "ACTIVE": "active"},
    },
}
ROOT_URLCONF = "tests.identity.urls"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "strangler.identity.legacy.LegacyUserBackend",
    "strangler.identity.cutover.FlaskSessionBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "strangler.identity.hashers.WerkzeugPasswordHasher",
]
_AUTH = "django.contrib.auth.middleware.AuthenticationMiddleware"
MIDDLEWARE = [
    *MIDDLEWARE[: MIDDLEWARE.index(_AUTH) + 1],
    "strangler.identity.cutover.FlaskSessionMiddleware",
    *MIDDLEWARE[MIDDLEWARE.index(_AUTH) + 1 :],
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/account"
LOGOUT_REDIRECT_URL = "/accounts/login/"
