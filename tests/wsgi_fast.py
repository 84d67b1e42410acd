"""WSGI entry point of the test project behind the strangler's fast path."""

from strangler.wsgi import get_wsgi_application

application = get_wsgi_application()
