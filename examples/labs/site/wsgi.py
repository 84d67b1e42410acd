"""WSGI entry point of the demo's front door.

``strangler.wsgi`` forwards requests for Flask without entering Django's
request cycle (the fast path); Django's own pages go through it as usual.
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "examples.labs.site.settings")

from strangler.wsgi import get_wsgi_application

application = get_wsgi_application()
