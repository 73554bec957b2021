"""The staff web UI: a thin Flask layer whose routes call ``engine.services`` and render Jinja2 pages.

Everything a route does goes through the service layer, so the web applies exactly the rules the CLI
applies (authorization included); this package only turns requests into calls and results into
Chinese pages.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from flask import Flask
from flask_login import current_user
from flask_wtf.csrf import CSRFProtect

from engine.store import Database
from webui import (admin, analyst, api, audit, auth, cases, engine_rest, errors, formatting, guard, inbox, reports,
                   tasks, team, views)

csrf = CSRFProtect()


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """A configured app. ``config`` overrides: ``DATABASE_URL`` (else env ``BPMDESK_DATABASE_URL``,
    else the engine's default), ``VAR_DIR`` (where the shared secret key file lives), any Flask key."""
    app = Flask(__name__)
    config = dict(config or {})
    var_dir = Path(config.pop("VAR_DIR", "var"))
    app.config.update(
        SESSION_COOKIE_NAME="bpmdesk_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=os.environ.get("BPMDESK_SECURE_COOKIES", "") == "1",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SAMESITE="Lax",
        WTF_CSRF_TIME_LIMIT=None,  # a token lives as long as the session: long forms at the counter
        PER_PAGE=25,
        JSON_AS_ASCII=False,
    )
    app.config.update(config)
    app.json.ensure_ascii = False
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _secret_key(var_dir)
    url = app.config.get("DATABASE_URL") or os.environ.get("BPMDESK_DATABASE_URL") or None
    app.extensions["bpmdesk.db"] = Database(url)
    guard.init_app(app)
    csrf.init_app(app)
    auth.login_manager.init_app(app)
    # a global, not only a context variable: macros imported without context (the form fields, where a
    # ${currentUser()} sign-off shows the signed-in person) read it too
    app.jinja_env.globals["current_user"] = current_user
    views.init_app(app)
    formatting.init_app(app)
    errors.init_app(app)
    for blueprint in (auth.bp, inbox.bp, tasks.bp, cases.bp, admin.bp, analyst.bp, api.bp, audit.bp, team.bp,
                      reports.bp, engine_rest.bp):
        app.register_blueprint(blueprint)
    csrf.exempt(engine_rest.bp)  # it checks CSRF itself for cookie sessions (see webui/engine_rest)
    return app


def _secret_key(var_dir: Path) -> str:
    """``BPMDESK_SECRET_KEY``, else a random key kept in ``var/secret_key`` so that every worker
    process signs sessions with the same key; the first process to start writes it."""
    configured = os.environ.get("BPMDESK_SECRET_KEY", "").strip()
    if configured:
        return configured
    var_dir.mkdir(parents=True, exist_ok=True)
    path = var_dir / "secret_key"
    if not path.exists():
        draft = var_dir / f"secret_key.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(secrets.token_hex(32))
        try:
            os.link(draft, path)  # atomic: exactly one process's key wins, and it is complete
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return path.read_text(encoding="ascii").strip()
