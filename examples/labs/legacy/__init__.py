"""Labs: the legacy Flask app of the demo (Flask 3, SQLAlchemy 2, Alembic, Flask-Login).

It knows nothing of Django: no module here imports it (``manage.py
strangler_contract`` checks). It runs alone (``flask --app
examples.labs.legacy.app run``) or behind the Django front door, which then
owns login and tells this app who the user is with a signed token.
"""
