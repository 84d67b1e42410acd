"""The JSON API: samples, paginated. Session login; POST needs the scientist role."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, Response, abort, jsonify, request, url_for
from flask_login import current_user
from sqlalchemy import func, select

from .db import db
from .eventlog import record
from .models import Experiment, Sample

bp = Blueprint("api", __name__, url_prefix="/api")

MAX_PER_PAGE = 100


def page_arguments() -> tuple[int, int] | Response:
    """``page`` and ``per_page`` from the query string, or the 400 answer."""
    page = request.args.get("page", 1, type=int)
    per_page = request.args.get("per_page", 20, type=int)
    if page < 1 or not 1 <= per_page <= MAX_PER_PAGE:
        return error(400, f"page must be >= 1 and per_page between 1 and {MAX_PER_PAGE}")
    return page, per_page


def error(status: int, message: str) -> Response:
    response = jsonify({"error": message})
    response.status_code = status
    return response


@bp.before_request
def require_login() -> Response | None:
    if not current_user.is_authenticated:
        return error(401, "log in first")
    return None


@bp.get("/samples")
def list_samples() -> Response:
    arguments = page_arguments()
    if isinstance(arguments, Response):
        return arguments
    page, per_page = arguments
    total = db().scalar(select(func.count()).select_from(Sample)) or 0
    rows = (
        db()
        .scalars(select(Sample).order_by(Sample.id).offset((page - 1) * per_page).limit(per_page))
        .all()
    )
    more = page * per_page < total
    return jsonify(
        {
            "items": [row.as_json() for row in rows],
            "page": page,
            "per_page": per_page,
            "total": total,
            "next": url_for(".list_samples", page=page + 1, per_page=per_page) if more else None,
        }
    )


@bp.get("/experiments")
def list_experiments() -> Response:
    """Experiments with their results, newest first (Django's port runs in shadow)."""
    arguments = page_arguments()
    if isinstance(arguments, Response):
        return arguments
    page, per_page = arguments
    total = db().scalar(select(func.count()).select_from(Experiment)) or 0
    rows = (
        db()
        .scalars(
            select(Experiment)
            .order_by(Experiment.id.desc())
            .offset((page - 1) * per_page)
            .limit(per_page)
        )
        .all()
    )
    return jsonify(
        {
            "items": [
                {
                    "id": row.id,
                    "title": row.title,
                    "sample_id": row.sample_id,
                    "status": row.status,
                    "started_at": row.started_at.isoformat(),
                    "results": [
                        {"metric": r.metric, "value": r.value, "unit": r.unit} for r in row.results
                    ],
                }
                for row in rows
            ],
            "page": page,
            "per_page": per_page,
            "total": total,
        }
    )


@bp.get("/samples/<int:sample_id>")
def get_sample(sample_id: int) -> Response:
    found = db().get(Sample, sample_id) or abort(404)
    return jsonify(found.as_json())


@bp.post("/samples")
def create_sample() -> Response:
    """JSON only: a cross-site form cannot send ``application/json`` without CORS."""
    if not current_user.has_role("scientist"):
        return error(403, "scientists only")
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        return error(415, "send a JSON object with Content-Type: application/json")
    try:
        sample = Sample(
            name=str(data["name"])[:100],
            lab=str(data.get("lab", "north"))[:50],
            collected_on=date.fromisoformat(str(data["collected_on"])),
            notes=str(data.get("notes", "")),
            owner_id=current_user.id,
        )
    except (KeyError, ValueError) as exc:
        return error(400, f"name and collected_on (YYYY-MM-DD) are required: {exc}")
    db().add(sample)
    db().flush()
    record("sample.created", f"sample:{sample.id}", name=sample.name, via="api")
    db().commit()
    response = jsonify(sample.as_json())
    response.status_code = 201
    response.headers["Location"] = url_for(".get_sample", sample_id=sample.id)
    return response
