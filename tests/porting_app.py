"""A legacy Flask app with the rules an inventory finds hard: converters, methods, slashes.

``STRANGLER["FLASK_APP"] = "tests.porting_app:app"`` in the porting tests; it
is also served (``tests.upstream.serve``) as the upstream of the method tests.
"""

from __future__ import annotations

from flask import Flask, jsonify, request
from flask.typing import ResponseReturnValue

app = Flask("porting_legacy")


def _echo(**values: object) -> ResponseReturnValue:
    return jsonify({"by": "flask", "method": request.method, "path": request.path, **values})


@app.route("/api/users/<int:user_id>", methods=["GET", "PUT", "DELETE"])
def user(user_id: int) -> ResponseReturnValue:
    return _echo(id=user_id)


@app.route("/api/things/<int:pk>", methods=["GET", "POST"])
def thing(pk: int) -> ResponseReturnValue:
    return _echo(thing=pk)


@app.route("/samples/<int:sample_id>/edit", methods=["GET", "POST"])
def edit_sample(sample_id: int) -> ResponseReturnValue:
    return _echo(sample=sample_id)


@app.route("/files/<path:name>")
def files(name: str) -> ResponseReturnValue:
    return _echo(name=name)


@app.route("/kind/<any(cats, dogs):kind>/")
def kind(kind: str) -> ResponseReturnValue:
    return _echo(kind=kind)


@app.route("/by-uuid/<uuid:ident>")
def by_uuid(ident: object) -> ResponseReturnValue:
    return _echo(ident=str(ident))


@app.route("/codes/<string(length=3):code>")
def code(code: str) -> ResponseReturnValue:
    return _echo(code=code)


@app.route("/reports/<name>")
def report(name: str) -> ResponseReturnValue:
    return _echo(report=name)


@app.route("/ported")  # Django has "ported/": trailing slashes differ
def ported_no_slash() -> ResponseReturnValue:
    return _echo()


@app.route("/docs/<path:page>")  # Django has docs/<str:section>/<str:page>: they overlap
def docs(page: str) -> ResponseReturnValue:
    return _echo(page=page)


@app.route("/prices/<float:amount>")
def price(amount: float) -> ResponseReturnValue:
    return _echo(amount=amount)
