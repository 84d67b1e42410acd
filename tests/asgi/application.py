"""ASGI entry point of the test project behind the strangler (``strangler.asgi``).

Django's WebSockets (``/django-ws/...``) go to a small plain-ASGI app, as a
project's Channels router would take them.
"""

from strangler.asgi import get_asgi_application
from tests.asgi.django_websocket import echo_websocket

application = get_asgi_application(websocket_app=echo_websocket)

# The same project with no ASGI app for Django's WebSockets.
without_websockets = get_asgi_application()
