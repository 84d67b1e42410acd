"""The Django project the benchmarks put in front of Flask.

One project, two fronts, chosen by environment variables when gunicorn starts
it: ``BENCH_FRONT=strangler`` (StranglerMiddleware first, ``BENCH_UPSTREAM``
an ``http://`` URL or ``wsgi:benchmarks.flask_app:app``) or
``BENCH_FRONT=revproxy`` (django-revproxy's ``ProxyView`` as a catch-all).
Everything else is what ``django-admin startproject`` writes.
"""
