"""The engine's version, and the OpenAPI description of what this subset has (built from its routes,
so it lists exactly what exists)."""
from __future__ import annotations

import inspect
import re
from typing import Any

from flask import current_app, jsonify

from webui.engine_rest import VERSION, bp


@bp.get("/version")
def version():
    """The Camunda 7 REST API version this subset follows."""
    return jsonify(version=VERSION)


@bp.get("/engine")
def engines():
    """The one process engine ("default")."""
    return jsonify([{"name": "default"}])


@bp.get("/openapi.json")
def openapi():
    """This description."""
    paths: dict[str, dict[str, Any]] = {}
    for rule in sorted(current_app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.endpoint.split(".")[0] != bp.name:
            continue
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule)
        view = current_app.view_functions[rule.endpoint]
        summary = (inspect.getdoc(view) or rule.endpoint).split("\n\n")[0].replace("\n", " ")
        params = [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
                  for name in rule.arguments]
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method.lower()] = {
                "operationId": rule.endpoint.split(".", 1)[1], "summary": summary, "parameters": params,
                "responses": _responses(method)}
    return jsonify({
        "openapi": "3.0.2",
        "info": {"title": "bpmdesk engine-rest (Camunda 7 REST API subset)", "version": VERSION},
        "servers": [{"url": "/engine-rest"}],
        "components": {
            "securitySchemes": {"basic": {"type": "http", "scheme": "basic"},
                                "token": {"type": "http", "scheme": "bearer"}},
            "schemas": {"ExceptionDto": {"type": "object", "properties": {
                "type": {"type": "string"}, "message": {"type": "string"}}}}},
        "security": [{"basic": []}, {"token": []}],
        "paths": {path.removeprefix("/engine-rest") or "/": ops for path, ops in paths.items()},
    })


def _responses(method: str) -> dict[str, Any]:
    error = {"description": "Camunda error body", "content": {"application/json": {
        "schema": {"$ref": "#/components/schemas/ExceptionDto"}}}}
    ok = {"204": {"description": "done"}} if method != "GET" else {"200": {"description": "JSON"}}
    return {**ok, "400": error, "401": error, "403": error, "404": error}
