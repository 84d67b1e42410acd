"""A Flask app that keeps the rule: Flask and strangler.flask only."""

from flask import Flask

from strangler.flask import DjangoIdentity

app = Flask(__name__)
DjangoIdentity(app)
