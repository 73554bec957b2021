"""Decisions: evaluate a deployed decision with typed variables, as Camunda's
``POST /decision-definition/key/{key}/evaluate`` does (the very evaluation a business rule task
runs; nothing is stored)."""
from __future__ import annotations

from flask import jsonify

from engine import services
from webui.engine_rest import actor, bp, variables
from webui.engine_rest.shapes import body
from webui.views import db


@bp.post("/decision-definition/key/<key>/evaluate")
def evaluate_decision(key: str):
    """Evaluate the newest deployed decision with this id: one entry per result (rule output)."""
    result = services.evaluate_decision(db(), key, variables.to_python(body().get("variables")), actor())
    return jsonify([variables.typed_all(entry) for entry in result.results])
