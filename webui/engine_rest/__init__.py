"""A Camunda 7 REST API subset under ``/engine-rest``, for Camunda's own tools: Modeler's Deploy and
Start buttons, external-task workers written with Camunda's client libraries, scripts.

Like every other route, these call ``engine.services`` — the same functions, the same rules, the
same history as the web inbox and the CLI; this package only speaks Camunda's JSON: its shapes, its
status codes and its error body ``{"type": …, "message": …}``.

Authentication: HTTP Basic with a bpmdesk user's name and password, or ``Authorization: Bearer``
with a token from ``bpmdesk tokens add``. Such requests carry their credentials in every request,
so a cross-site page cannot forge them and CSRF does not apply. A request with neither but with a
staff session cookie is the signed-in user's, and then its POSTs need the session's CSRF token
(``X-CSRFToken``), as under ``/api``.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import threading
import time
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request
from flask_login import current_user
from werkzeug.exceptions import HTTPException

from engine import services
from engine.errors import BpmdeskError, Conflict, DeployError, Forbidden, ProcessError, TooManyAttempts
from engine.services import Actor, UserInfo, tokens
from webui.views import db

bp = Blueprint("engine_rest", __name__, url_prefix="/engine-rest")
VERSION = "7.21.0"  # the Camunda 7 REST API this subset follows
BASIC_REMEMBERED_SECONDS = 300.0


def actor() -> Actor:
    """Who calls: the user of the Basic credentials, of the token, or of the session."""
    return g.engine_rest_actor


# --- authentication -------------------------------------------------------------------------------

class _CheckedPasswords:
    """Basic credentials sent with every request would cost a slow password hash each (and a
    sign-in event each); a match is remembered for a few minutes in this process. The user's
    being active and their groups are still read on every call by the services."""

    def __init__(self) -> None:
        self._known: dict[str, float] = {}
        self._lock = threading.Lock()

    def _key(self, name: str, password: str) -> str:
        return hashlib.sha256(f"{current_app.config['SECRET_KEY']}\0{name}\0{password}".encode()).hexdigest()

    def known(self, name: str, password: str) -> bool:
        with self._lock:
            return self._known.get(self._key(name, password), 0.0) > time.monotonic()

    def remember(self, name: str, password: str) -> None:
        with self._lock:
            if len(self._known) > 10_000:
                self._known.clear()
            self._known[self._key(name, password)] = time.monotonic() + BASIC_REMEMBERED_SECONDS


_PASSWORDS = _CheckedPasswords()


def _unauthorized(message: str) -> Response:
    response = jsonify(type="AuthenticationException", message=message)
    response.status_code = 401
    response.headers["WWW-Authenticate"] = 'Basic realm="bpmdesk engine-rest"'
    return response


def _basic(encoded: str) -> UserInfo | None:
    try:
        name, _, password = base64.b64decode(encoded, validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    name = name.strip()
    if _PASSWORDS.known(name, password):
        info = services.get_user(db(), services.normal_name(name))
        return info if info is not None and info.active else None
    info = services.authenticate(db(), name, password)
    if info is None:
        return None
    _PASSWORDS.remember(name, password)
    return info


@bp.before_request
def _authenticate() -> Response | None:
    scheme, _, credentials = request.headers.get("Authorization", "").strip().partition(" ")
    if scheme.lower() == "basic":
        info = _basic(credentials.strip())
    elif scheme.lower() == "bearer":
        info = tokens.user_of_token(db(), credentials.strip())
    elif current_user.is_authenticated:
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            from webui import csrf
            csrf.protect()
        g.engine_rest_actor = _actor(current_user.name, current_user.groups)
        return None
    else:
        return _unauthorized("Authentication required: HTTP Basic (bpmdesk user) or Bearer token.")
    if info is None:
        return _unauthorized("Wrong user name, password or token (or the account is deactivated).")
    g.engine_rest_actor = _actor(info.name, info.groups)
    return None


def _actor(name: str, groups: Any) -> Actor:
    """The caller, with the groups they supervise (a supervisor may assign their team's tasks)."""
    groups = frozenset(groups)
    return Actor(name, groups, supervises=services.supervised_by(db(), groups))


# --- Camunda's error body ----------------------------------------------------------------------------

def _error_type(error: BpmdeskError) -> str:
    if isinstance(error, DeployError):
        return "ParseException"
    if isinstance(error, Forbidden):
        return "AuthorizationException"
    if isinstance(error, Conflict):
        return "OptimisticLockingException"
    if isinstance(error, ProcessError):
        return "ProcessEngineException"
    if isinstance(error, TooManyAttempts):
        return "AuthenticationException"
    return "InvalidRequestException"  # NotFound (404) and InvalidInput (400), as Camunda names both


def camunda_error(status: int, kind: str, message: str) -> tuple[Response, int]:
    return jsonify(type=kind, message=message), status


@bp.errorhandler(BpmdeskError)
def _bpmdesk_error(error: BpmdeskError):
    message = str(error)
    if isinstance(error, DeployError):  # the prefix Modeler looks for to show the problems
        message = "ENGINE-09005 Could not parse BPMN process. Errors:\n" + "\n".join(
            f"* {problem}" for problem in error.problems)
    return camunda_error(error.http_status, _error_type(error), message)


def http_error(error: HTTPException) -> tuple[Response, int]:
    """Also for routing errors under /engine-rest (no route, wrong method): see webui/errors.py."""
    status = error.code or 500
    kind = "RestException" if status != 404 else "InvalidRequestException"
    return camunda_error(status, kind, error.description or error.name)


bp.register_error_handler(HTTPException, http_error)


# The routes, one module per Camunda resource.
from webui.engine_rest import (decisions, definitions, deployments, external_tasks, messages, misc,  # noqa: E402,F401
                               tasks)
