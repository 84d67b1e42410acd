"""The legacy Flask app of the demo: it knows nothing about Django."""

from __future__ import annotations

from flask import Flask, Response, abort, jsonify, make_response, redirect, url_for

from .data import SAMPLES

app = Flask(__name__)

PAGE = """<!doctype html>
<title>Labs (legacy)</title>
<h1>Labs</h1>
<p>This page is served by <b>Flask</b>, through Django's front door.</p>
<ul>{items}</ul>
<p><a href="/samples/1">/samples/1</a> is already ported to Django;
<a href="/samples">/samples</a> and <a href="/login">/login</a> are still Flask's.</p>
"""


@app.route("/")
def index() -> str:
    items = "".join(
        f'<li><a href="/samples/{s["id"]}">{s["name"]}</a></li>' for s in SAMPLES.values()
    )
    return PAGE.format(items=items)


@app.route("/samples")
def samples() -> Response:
    response = jsonify({"samples": list(SAMPLES.values()), "served_by": "flask"})
    return response


@app.route("/samples/<int:sample_id>")
def sample(sample_id: int) -> Response:
    if sample_id not in SAMPLES:
        abort(404)
    return jsonify({**SAMPLES[sample_id], "served_by": "flask"})


@app.route("/login")
def login() -> Response:
    response = make_response(redirect(url_for("index", _external=True)))
    response.set_cookie("legacy_session", "demo", httponly=True, samesite="Lax")
    response.set_cookie("legacy_theme", "dark")
    return response
