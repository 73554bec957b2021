"""Camunda's JSON shapes of bpmdesk's things: times, definitions, deployments, tasks, instances."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import request

from engine import clock
from engine.errors import InvalidInput, NotFound
from engine.numbers import MAX_ID, whole_number
from webui import guard

MAX_RESULTS = 1000


def camunda_time(value: datetime | None) -> str | None:
    """``yyyy-MM-dd'T'HH:mm:ss.SSSZ``, the REST API's date format, in the centre's zone."""
    if value is None:
        return None
    local = value.astimezone(clock.local_tz())
    return local.strftime("%Y-%m-%dT%H:%M:%S.") + f"{local.microsecond // 1000:03d}" + local.strftime("%z")


def parse_camunda_time(text: str, name: str) -> datetime:
    try:
        return clock.parse_time(text)
    except ValueError:
        raise InvalidInput(f"{name}: '{text}' is not a date (yyyy-MM-dd'T'HH:mm:ss.SSSZ).") from None


def int_arg(name: str, default: int | None = None) -> int | None:
    text = request.args.get(name)
    if text is None or text == "":
        return default
    number = whole_number(text, signed=True)
    if number is None:
        raise InvalidInput(f"Query parameter {name} must be a whole number, not '{text}'.")
    return number


def paged(rows: list[Any]) -> list[Any]:
    """``firstResult`` / ``maxResults`` of a listing."""
    first = max(0, int_arg("firstResult", 0) or 0)
    most = int_arg("maxResults", MAX_RESULTS)
    most = MAX_RESULTS if most is None else max(0, min(most, MAX_RESULTS))
    return rows[first:first + most]


def definition_id(version: Any) -> str:
    """Camunda's ``key:version:id``."""
    return f"{version.process_id}:{version.version}:{version.id}"


def version_of_definition_id(text: str) -> int:
    """The bpmdesk version id inside a Camunda process definition id."""
    number = whole_number(text.rsplit(":", 1)[-1], most=MAX_ID)
    if number is None:
        raise NotFound(f"No matching process definition with id {text}")
    return number


def definition_json(version: Any) -> dict[str, Any]:
    return {
        "id": definition_id(version), "key": version.process_id, "category": "http://bpmn.io/schema/bpmn",
        "description": None, "name": version.name, "version": version.version,
        "resource": _resource_name(version), "deploymentId": str(version.id), "diagram": None,
        "suspended": False, "tenantId": None, "versionTag": None, "historyTimeToLive": None,
        "startableInTasklist": not version.timer_start,
    }


def decision_json(decision: Any) -> dict[str, Any]:
    """A deployed decision version (`DeployedDecision`) as Camunda's decision definition."""
    return {
        "id": f"{decision.decision_id}:{decision.version}:{decision.deployment_id}", "key": decision.decision_id,
        "category": "http://camunda.org/schema/1.0/dmn", "name": decision.name, "version": decision.version,
        "resource": decision.resource, "deploymentId": str(decision.deployment_id), "tenantId": None,
        "decisionRequirementsDefinitionId": None, "decisionRequirementsDefinitionKey": None,
        "historyTimeToLive": None, "versionTag": decision.version_tag,
    }


def _resource_name(version: Any) -> str | None:
    files = getattr(version, "files", None) if "files" in version.__dict__ else None
    return next((f["name"] for f in files or [] if f["role"] == "bpmn"), None)


def deployment_json(version: Any) -> dict[str, Any]:
    return {"links": [], "id": str(version.id), "name": version.process_id, "source": None,
            "deploymentTime": camunda_time(version.deployed_at), "tenantId": None}


def task_json(item: Any) -> dict[str, Any]:
    return {
        "id": item.id, "name": item.name, "assignee": item.assignee, "owner": item.owner,
        "created": camunda_time(item.created_at), "due": camunda_time(item.due_at),
        "followUp": camunda_time(item.follow_up_at), "lastUpdated": None,
        "delegationState": "PENDING" if item.owner else None, "description": None,
        "executionId": str(item.instance_id), "parentTaskId": None,
        "priority": item.priority if item.priority is not None else 50,
        "processDefinitionId": None, "processInstanceId": str(item.instance_id),
        "taskDefinitionKey": item.element_id, "caseExecutionId": None, "caseInstanceId": None,
        "caseDefinitionId": None, "suspended": False, "formKey": None, "camundaFormRef": None,
        "tenantId": None,
    }


def instance_json(instance_id: int, definition: str | None, business_key: str | None, ended: bool) -> dict[str, Any]:
    return {"links": [], "id": str(instance_id), "definitionId": definition, "businessKey": business_key,
            "caseInstanceId": None, "ended": ended, "suspended": False, "tenantId": None}


def body() -> dict[str, Any]:
    """The JSON object of a request (an empty body counts as ``{}``)."""
    data = guard.json_body()
    if not isinstance(data, dict):
        raise InvalidInput("The request body must be a JSON object.")
    return data
