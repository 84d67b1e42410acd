"""Flask-WTF forms: every POST carries a CSRF token."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import DateField, FloatField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from .models import ROLES


class LoginForm(FlaskForm):
    username = StringField("Username", validators=[DataRequired()])
    password = PasswordField("Password", validators=[DataRequired()])


class SampleForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=100)])
    # Plain values: wtforms 3.3 deprecates (value, label) tuples, older ones lack SelectChoice.
    lab = SelectField("Lab", choices=["north", "south", "east"])
    collected_on = DateField("Collected on", validators=[DataRequired()])
    tags = StringField("Tags (comma-separated)", validators=[Length(max=200)])
    notes = TextAreaField("Notes")


class ResultForm(FlaskForm):
    metric = StringField("Metric", validators=[DataRequired(), Length(max=50)])
    value = FloatField("Value", validators=[DataRequired()])
    unit = StringField("Unit", validators=[DataRequired(), Length(max=20)])


class UploadForm(FlaskForm):
    file = FileField("File", validators=[FileRequired()])


class RoleForm(FlaskForm):
    role = SelectField("Role", choices=list(ROLES))
