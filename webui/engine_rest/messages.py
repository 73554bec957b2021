"""Messages and signals as Camunda's REST API sends them: ``POST /message`` (correlate by name,
business key and correlation keys, typed process variables) and ``POST /signal``; the same
services as ``bpmdesk correlate`` / ``bpmdesk signal`` and ``/api/messages``."""
from __future__ import annotations

from typing import Any

from flask import jsonify

from engine import services
from engine.errors import InvalidInput
from webui.engine_rest import actor, bp, variables
from webui.engine_rest.shapes import body
from webui.views import db


def _correlation_keys(data: dict[str, Any]) -> dict[str, Any]:
    return variables.to_python(data.get("correlationKeys"))


@bp.post("/message")
def correlate_message():
    """Correlate a message (messageName, businessKey, correlationKeys, processVariables, all)."""
    data = body()
    name = data.get("messageName")
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput("messageName is required.")
    deliveries = services.correlate_message(
        db(), actor(), name, data.get("businessKey"), _correlation_keys(data),
        variables.to_python(data.get("processVariables")), bool(data.get("all")))
    if not data.get("resultEnabled"):
        return "", 204
    return jsonify([{"resultType": "ProcessDefinition" if d.started else "Execution",
                     "processInstance": {"id": str(d.instance_id), "ended": False, "suspended": False,
                                         "links": [], "definitionId": None, "businessKey": None,
                                         "caseInstanceId": None, "tenantId": None},
                     "execution": None if d.started else {"id": str(d.instance_id),
                                                          "processInstanceId": str(d.instance_id),
                                                          "ended": False, "tenantId": None}}
                    for d in deliveries])


@bp.post("/signal")
def send_signal():
    """Throw a signal (name, variables) to every case waiting for it."""
    data = body()
    services.send_signal(db(), actor(), data.get("name"), variables.to_python(data.get("variables")))
    return "", 204
