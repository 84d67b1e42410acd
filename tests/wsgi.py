"""WSGI entry point of the test project, for the live front (gunicorn) tests."""

from django.core.wsgi import get_wsgi_application

application = get_wsgi_application()
