"""The HTML pages: dashboard, samples, experiments, the event log, admin."""

from __future__ import annotations

import csv
import io
import secrets
from collections.abc import Iterator
from pathlib import Path

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    stream_with_context,
    url_for,
)
from flask_login import current_user, login_required
from sqlalchemy import func, select
from werkzeug.utils import secure_filename
from werkzeug.wrappers import Response as BaseResponse

from .auth import role_required
from .db import db
from .eventlog import record
from .forms import ResultForm, RoleForm, SampleForm, UploadForm
from .models import Attachment, Event, Experiment, Result, Sample, Tag, User

bp = Blueprint("pages", __name__)

PAGE_SIZE = 20
EXPORT_BATCH = 200  # rows per database round trip and per streamed chunk


@bp.route("/")
def index() -> str:
    session = db()
    counts = {
        "samples": session.scalar(select(func.count()).select_from(Sample)),
        "experiments": session.scalar(select(func.count()).select_from(Experiment)),
        "results": session.scalar(select(func.count()).select_from(Result)),
    }
    recent = session.scalars(select(Event).order_by(Event.id.desc()).limit(8)).all()
    return render_template("index.html", counts=counts, recent=recent)


@bp.route("/samples")
@login_required
def samples() -> str:
    page = max(request.args.get("page", 1, type=int), 1)
    query = request.args.get("q", "").strip()
    statement = select(Sample).order_by(Sample.id)
    if query:
        statement = statement.where(Sample.name.ilike(f"%{query}%"))
    rows = db().scalars(statement.offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)).all()
    return render_template(
        "samples.html",
        samples=rows[:PAGE_SIZE],
        page=page,
        more=len(rows) > PAGE_SIZE,
        q=query,
    )


@bp.route("/samples/new", methods=["GET", "POST"])
@role_required("scientist")
def new_sample() -> str | BaseResponse:
    form = SampleForm()
    if form.validate_on_submit():
        session = db()
        sample = Sample(
            name=form.name.data,
            lab=form.lab.data,
            collected_on=form.collected_on.data,
            notes=form.notes.data or "",
            owner_id=current_user.id,
        )
        sample.tags = tags_named(form.tags.data or "")
        session.add(sample)
        session.flush()
        record("sample.created", f"sample:{sample.id}", name=sample.name)
        session.commit()
        flash(f"Sample “{sample.name}” created.", "success")
        return redirect(url_for("pages.sample", sample_id=sample.id))
    return render_template("sample_form.html", form=form)


def tags_named(text: str) -> list[Tag]:
    """The tags listed in ``text``, created when new."""
    tags = []
    for name in sorted({part.strip().lower() for part in text.split(",") if part.strip()}):
        tag = db().scalar(select(Tag).where(Tag.name == name)) or Tag(name=name[:50])
        tags.append(tag)
    return tags


@bp.route("/samples/<int:sample_id>")
@login_required
def sample(sample_id: int) -> str:
    found = db().get(Sample, sample_id) or abort(404)
    return render_template("sample.html", sample=found, upload=UploadForm())


@bp.route("/samples/export.csv")
@login_required
def export_samples() -> Response:
    """Every sample as CSV, streamed in batches so memory stays flat."""

    def rows() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["id", "name", "lab", "collected_on", "owner", "tags"])
        last_id = 0
        while True:
            batch = (
                db()
                .scalars(
                    select(Sample)
                    .where(Sample.id > last_id)
                    .order_by(Sample.id)
                    .limit(EXPORT_BATCH)
                )
                .all()
            )
            if not batch:
                break
            for row in batch:
                writer.writerow(
                    [row.id, row.name, row.lab, row.collected_on.isoformat(), row.owner.username,
                     " ".join(tag.name for tag in row.tags)]
                )  # fmt: skip
            last_id = batch[-1].id
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
        yield buffer.getvalue()

    return Response(
        stream_with_context(rows()),
        mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=samples.csv"},
    )


@bp.route("/samples/<int:sample_id>/attachments", methods=["POST"])
@role_required("scientist")
def upload(sample_id: int) -> BaseResponse:
    found = db().get(Sample, sample_id) or abort(404)
    form = UploadForm()
    if not form.validate_on_submit():
        flash("Choose a file to upload.", "error")
        return redirect(url_for("pages.sample", sample_id=sample_id))
    storage = form.file.data
    upload_dir = Path(current_app.config["UPLOAD_DIR"])
    upload_dir.mkdir(parents=True, exist_ok=True)
    stored_as = secrets.token_hex(16)
    storage.save(upload_dir / stored_as)
    attachment = Attachment(
        sample_id=found.id,
        filename=secure_filename(storage.filename or "") or "upload",
        content_type=storage.mimetype or "application/octet-stream",
        size=(upload_dir / stored_as).stat().st_size,
        stored_as=stored_as,
    )
    db().add(attachment)
    record("attachment.uploaded", f"sample:{found.id}", filename=attachment.filename)
    db().commit()
    flash(f"Uploaded {attachment.filename} ({attachment.size} bytes).", "success")
    return redirect(url_for("pages.sample", sample_id=sample_id))


@bp.route("/attachments/<int:attachment_id>")
@login_required
def attachment(attachment_id: int) -> Response:
    found = db().get(Attachment, attachment_id) or abort(404)
    return send_file(
        Path(current_app.config["UPLOAD_DIR"]) / found.stored_as,
        mimetype=found.content_type,
        as_attachment=True,
        download_name=found.filename,
    )


@bp.route("/experiments")
@login_required
def experiments() -> str:
    rows = db().scalars(select(Experiment).order_by(Experiment.id.desc())).all()
    return render_template("experiments.html", experiments=rows)


@bp.route("/experiments/<int:experiment_id>", methods=["GET", "POST"])
@login_required
def experiment(experiment_id: int) -> str | BaseResponse:
    found = db().get(Experiment, experiment_id) or abort(404)
    form = ResultForm()
    if request.method == "POST":
        if not current_user.has_role("scientist"):
            abort(403)
        if form.validate_on_submit():
            db().add(
                Result(
                    experiment_id=found.id,
                    metric=form.metric.data,
                    value=form.value.data,
                    unit=form.unit.data,
                )
            )
            record("result.recorded", f"experiment:{found.id}", metric=form.metric.data)
            db().commit()
            flash("Result recorded.", "success")
            return redirect(url_for("pages.experiment", experiment_id=found.id))
    return render_template("experiment.html", experiment=found, form=form)


@bp.route("/events")
@login_required
def events() -> str:
    """The event log (ported to Django; this copy answers only when Flask is reached directly)."""
    rows = db().scalars(select(Event).order_by(Event.id.desc()).limit(100)).all()
    return render_template("events.html", events=rows)


@bp.route("/admin/users")
@role_required("admin")
def users() -> str:
    rows = db().scalars(select(User).order_by(User.username)).all()
    return render_template("users.html", users=rows, form=RoleForm())


@bp.route("/admin/users/<int:user_id>/role", methods=["POST"])
@role_required("admin")
def set_role(user_id: int) -> BaseResponse:
    user = db().get(User, user_id) or abort(404)
    form = RoleForm()
    if form.validate_on_submit():
        user.role = form.role.data or user.role
        record("user.role_changed", f"user:{user.username}", role=user.role)
        db().commit()
        flash(f"{user.username} is now {user.role}.", "success")
    return redirect(url_for("pages.users"))
