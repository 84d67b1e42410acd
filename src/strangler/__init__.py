"""django-strangler: move a live Flask backend to Django one endpoint at a time.

This module imports neither Django nor Flask: the Flask side installs the same
distribution without Django (see ``strangler.flask``), and the Django side is
the ``strangler`` app (``INSTALLED_APPS += ["strangler"]``).
"""

__version__ = "0.1.0.dev0"

__all__ = ["__version__"]
