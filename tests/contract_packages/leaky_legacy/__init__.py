"""A Flask app that breaks the rule through a helper module."""

from flask import Flask

from . import helpers

app = Flask(__name__)
HELPERS = helpers
