"""The web's front door: input no route can use is refused here, once, for every route.

A route then only sees text that can be stored (no NUL, no lone surrogate), JSON of bounded depth,
ids that fit the database's integers and request bodies within ``BPMDESK_MAX_REQUEST_BYTES``; what
is refused gets a 400 (or 404, 413) with a Chinese message, never a 500 from deep inside.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import Flask, Request, request
from werkzeug.exceptions import UnsupportedMediaType
from werkzeug.routing import IntegerConverter

from engine import limits
from engine.errors import InvalidInput
from engine.numbers import MAX_ID

UPLOAD_ENDPOINT = "cases.attach"  # the one route whose body may be a whole attached file
UPLOAD_MARGIN = 65536  # bytes of the form around the file (token, task, multipart boundaries)


class BoundedInt(IntegerConverter):
    """``<int:…>`` that matches only ids a row can have: a longer number is a 404, not an overflow."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


class GuardedRequest(Request):
    """A body that is not JSON, or JSON nested beyond what the parser can recurse into, is a bad
    request that says which (a program sending it learns what to fix)."""

    def get_json(self, force: bool = False, silent: bool = False, cache: bool = True) -> Any:
        try:
            return super().get_json(force=force, silent=silent, cache=cache)
        except RecursionError:
            if silent:
                return None
            raise InvalidInput(f"提交的 JSON 嵌套过深（最多 {limits.number(limits.MAX_JSON_DEPTH)} 层）。") from None

    def on_json_loading_failed(self, e: ValueError | None) -> Any:
        raise InvalidInput("请求体不是有效的 JSON（语法错误，或数字超出范围）。")

    @property
    def max_content_length(self) -> int | None:
        """The request limit: the app's ``MAX_CONTENT_LENGTH`` if set, else ``BPMDESK_MAX_REQUEST_BYTES``
        read now (Flask's default config holds None for it, so a default set at start-up never took).
        An attachment's upload may carry one file of the attachment limit
        (``BPMDESK_MAX_ATTACHMENT_BYTES``), which the service checks exactly."""
        limit = super().max_content_length
        if limit is None:
            limit = limits.number(limits.MAX_REQUEST_BYTES)
        if self.endpoint == UPLOAD_ENDPOINT:
            return max(limit, limits.number(limits.MAX_ATTACHMENT_BYTES) + UPLOAD_MARGIN)
        return limit


JSON_BLUEPRINTS = frozenset({"api", "engine_rest"})  # routes that read JSON bodies; pages read forms


def json_body() -> Any:
    """The parsed JSON body (``{}`` when there is none; malformed or too deep: InvalidInput). A body of another
    declared type is a 415: a program that sent it learns what is expected instead of being told its
    fields are missing."""
    if not request.get_data(cache=True):
        return {}
    if not request.is_json:
        raise UnsupportedMediaType("请以 JSON（Content-Type: application/json）提交。")
    return request.get_json()


def _check_request() -> None:
    """Every part of a request a route may read: path, query, form fields and JSON body."""
    limits.check_value([request.path, *request.args.items(multi=True)], "请求地址")
    if request.method in ("POST", "PUT", "PATCH", "DELETE"):
        if request.is_json and request.blueprint not in JSON_BLUEPRINTS:
            raise UnsupportedMediaType("此页面只接受表单提交。")  # Flask-WTF would read the JSON as its form
        if request.form:
            limits.check_value(list(request.form.items(multi=True)), "提交的表单")
        if request.is_json:
            limits.check_value(request.get_json(silent=True), "提交的 JSON")


def page_url(page: int) -> str:
    """This page's address with another page number and every other query argument as given.
    (``url_for(endpoint, **request.args)`` would take ``_external``, ``_scheme`` or ``endpoint``
    from the query as its own arguments.)"""
    args = [(key, value) for key, value in request.args.items(multi=True) if key != "page"]
    return f"{request.path}?{urlencode([*args, ('page', page)])}"


def init_app(app: Flask) -> None:
    app.request_class = GuardedRequest
    app.url_map.converters["int"] = BoundedInt
    app.before_request(_check_request)
    app.jinja_env.globals["page_url"] = page_url
