"""Sign-in and sign-out. Passwords are checked (and hashed) by the service layer, never here."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, jsonify, redirect, render_template, request, session, url_for
from flask_login import LoginManager, UserMixin, current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from engine import services
from engine.errors import TooManyAttempts
from engine.services import UserInfo
from webui.views import db

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "请先登录。"
login_manager.session_protection = "strong"


@login_manager.unauthorized_handler
def _unauthorized():
    """Pages send a stranger to the sign-in page; the API answers 401 (a script cannot log in
    by following a redirect to an HTML form)."""
    if request.path.startswith("/api/"):
        return jsonify(error="请先登录。", status=401), 401
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


class StaffUser(UserMixin):
    """The signed-in person as Flask-Login needs it; reloaded on every request from the session's
    server-side record, so a revoked session, a deactivated account or a changed group takes
    effect at once. Its id is the session's key, not the user's name: a cookie names a session."""

    def __init__(self, info: UserInfo, key: str):
        self.name = info.name
        self.display_name = info.display_name or info.name
        self.groups = info.groups
        self.is_admin = info.is_admin
        self.is_auditor = info.is_auditor
        self.key = key

    def get_id(self) -> str:
        return self.key


@login_manager.user_loader
def _load_user(key: str) -> StaffUser | None:
    info = services.session_user(db(), key)
    return StaffUser(info, key) if info is not None else None


def sign_in(info: UserInfo) -> None:
    """Start a fresh session (no fixation) with a server-side record for the user just checked."""
    session.clear()
    login_user(StaffUser(info, services.open_session(db(), info.name)))


def sign_out() -> None:
    """End this session on the server too: a copy of its cookie stops working."""
    if current_user.is_authenticated:
        services.close_session(db(), current_user.key)
    logout_user()
    session.clear()


class LoginForm(FlaskForm):
    username = StringField("用户名", validators=[DataRequired("请输入用户名。"), Length(max=100)])
    password = PasswordField("密码", validators=[DataRequired("请输入密码。"), Length(max=200)])


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    error, status = None, 200
    if form.validate_on_submit():
        try:
            info = services.authenticate(db(), form.username.data.strip(), form.password.data)
        except TooManyAttempts as refused:
            return render_template("login.html", form=form, error=str(refused)), 429
        if info is not None:
            target = _safe_next(request.args.get("next"))
            sign_in(info)
            return redirect(target)
        error = "用户名或密码不正确。"
    if request.method == "POST":
        status = 401
    return render_template("login.html", form=form, error=error), status


@bp.post("/logout")
@login_required
def logout():
    sign_out()
    return redirect(url_for("auth.login"))


def _safe_next(target: str | None) -> str:
    """Only a path on this site: ``next`` must not send a user elsewhere after signing in."""
    if target and target.isprintable() and " " not in target:  # no CR/LF: it becomes a header
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") and not target.startswith("//") \
                and "\\" not in target:
            return target
    return url_for("inbox.index")
