"""The Flask app benchmarks/identity.py forwards to: one small page, DjangoIdentity installed.

The public key comes from ``BENCH_PUBLIC_KEY``; without it every request
is anonymous (no token is sent then anyway). ``BENCH_NO_IDENTITY=1`` leaves
the extension out, to measure what the Django side alone adds.
"""

from __future__ import annotations

import os

from flask import Flask, Response

from strangler.flask import DjangoIdentity, current_identity

app = Flask("bench_identity")
if os.environ.get("BENCH_PUBLIC_KEY"):
    app.config["STRANGLER_VERIFYING_KEYS"] = [os.environ["BENCH_PUBLIC_KEY"]]
else:
    # A key nobody signs with: the extension runs, no token ever verifies.
    app.config["STRANGLER_VERIFYING_KEYS"] = ["unused-" + "x" * 40]
if not os.environ.get("BENCH_NO_IDENTITY"):
    DjangoIdentity(app)

# About the size of a small rendered page (1.2 KiB).
ITEMS = "".join(f"<li>item {i}: lorem ipsum dolor sit amet</li>" for i in range(30))


@app.route("/hello")
def hello() -> Response:
    who = current_identity.username or "anonymous"
    page = f"<!doctype html><html><body><p>{who}</p><ul>{ITEMS}</ul></body></html>"
    return Response(page, content_type="text/html; charset=utf-8")
