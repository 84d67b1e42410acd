"""A Flask app module that fails while importing (for the FLASK_APP check)."""

from flask import Flask

app = Flask("broken")
RATIO = 1 / 0
