"""External tasks as Camunda's workers expect them: fetchAndLock (with long polling), complete,
failure, bpmnError, extendLock, unlock, retries; and listings (incidents are tasks with 0 retries)."""
from __future__ import annotations

from typing import Any

from flask import jsonify, request

from engine.errors import InvalidInput, NotFound
from engine.services import external as service
from webui.engine_rest import actor, bp, variables
from webui.engine_rest.shapes import body, camunda_time, int_arg, paged
from webui.views import db


def _number(data: dict[str, Any], name: str, default: int | None = None) -> int:
    value = data.get(name, default)
    if value is None or isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
        raise InvalidInput(f"{name} must be a whole number.")
    return int(value)


def _names(value: Any, name: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidInput(f"{name} must be a list of variable names.")
    return tuple(value)


def _topic(item: Any) -> service.TopicRequest:
    if not isinstance(item, dict):
        raise InvalidInput("each topic must be an object with topicName and lockDuration.")
    keys = [item.get("processDefinitionKey")] if item.get("processDefinitionKey") else []
    keys += list(item.get("processDefinitionKeyIn") or [])
    return service.TopicRequest(topic=str(item.get("topicName") or ""), lock_ms=_number(item, "lockDuration"),
                                variables=_names(item.get("variables"), "variables"),
                                process_ids=tuple(str(k) for k in keys))


def _locked_json(task: service.LockedTask) -> dict[str, Any]:
    return {
        "activityId": task.element_id, "activityInstanceId": f"{task.element_id}:{task.id}",
        "errorMessage": task.error_message, "errorDetails": task.error_details,
        "executionId": task.id, "id": task.id, "lockExpirationTime": camunda_time(task.lock_expires_at),
        "createTime": camunda_time(task.created_at),
        "processDefinitionId": f"{task.process_id}:{task.version}:{task.definition_id}",
        "processDefinitionKey": task.process_id, "processDefinitionVersionTag": None,
        "processInstanceId": str(task.instance_id), "tenantId": None, "retries": task.retries,
        "workerId": task.worker_id, "priority": task.priority, "topicName": task.topic, "businessKey": None,
        "extensionProperties": {}, "variables": variables.typed_all(task.variables),
    }


@bp.post("/external-task/fetchAndLock")
def fetch_and_lock():
    """Lock up to maxTasks tasks of the topics for workerId (asyncResponseTimeout: long polling, ms)."""
    data = body()
    topics = data.get("topics")
    if not isinstance(topics, list):
        raise InvalidInput("topics must be a list of {topicName, lockDuration}.")
    wait_ms = _number(data, "asyncResponseTimeout", 0)
    locked = service.fetch_and_lock(db(), actor(), str(data.get("workerId") or ""), [_topic(t) for t in topics],
                                    _number(data, "maxTasks", 1), bool(data.get("usePriority")),
                                    wait_seconds=wait_ms / 1000)
    return jsonify([_locked_json(t) for t in locked])


@bp.post("/external-task/<task_id>/complete")
def external_complete(task_id: str):
    """The worker's result: variables (and localVariables) go into the case, which runs on."""
    data = body()
    values = {**variables.to_python(data.get("variables")), **variables.to_python(data.get("localVariables"))}
    service.complete(db(), actor(), task_id, str(data.get("workerId") or ""), values)
    return "", 204


@bp.post("/external-task/<task_id>/failure")
def external_failure(task_id: str):
    """A technical failure: retries left (0 = an incident) and retryTimeout (ms) before the next try."""
    data = body()
    service.failure(db(), actor(), task_id, str(data.get("workerId") or ""), data.get("errorMessage"),
                    data.get("errorDetails"), _number(data, "retries", 0), _number(data, "retryTimeout", 0))
    return "", 204


@bp.post("/external-task/<task_id>/bpmnError")
def external_bpmn_error(task_id: str):
    """A business error (errorCode), caught by an error boundary event of the task."""
    data = body()
    service.bpmn_error(db(), actor(), task_id, str(data.get("workerId") or ""), str(data.get("errorCode") or ""),
                       data.get("errorMessage"), variables.to_python(data.get("variables")))
    return "", 204


@bp.post("/external-task/<task_id>/extendLock")
def external_extend_lock(task_id: str):
    """Lock the task newDuration ms from now (the worker must hold a live lock)."""
    data = body()
    service.extend_lock(db(), actor(), task_id, str(data.get("workerId") or ""), _number(data, "newDuration"))
    return "", 204


@bp.post("/external-task/<task_id>/unlock")
def external_unlock(task_id: str):
    """Release the lock at once."""
    service.unlock(db(), actor(), task_id)
    return "", 204


@bp.put("/external-task/<task_id>/retries")
def external_set_retries(task_id: str):
    """Set the retries (more than 0 resolves the task's incident)."""
    service.set_retries(db(), actor(), task_id, _number(body(), "retries"))
    return "", 204


def _task_json(item: service.ExternalTaskItem) -> dict[str, Any]:
    return {"id": item.id, "topicName": item.topic, "workerId": item.worker_id,
            "lockExpirationTime": camunda_time(item.lock_expires_at), "createTime": camunda_time(item.created_at),
            "processInstanceId": str(item.instance_id), "processDefinitionKey": item.process_id,
            "activityId": item.element_id, "retries": item.retries, "errorMessage": item.error_message,
            "priority": item.priority, "suspended": False, "tenantId": None, "businessKey": None}


@bp.get("/external-task")
def external_tasks():
    """Open external tasks (topicName, processInstanceId, noRetriesLeft: the incidents)."""
    instance = int_arg("processInstanceId")
    items = service.list_external_tasks(db(), actor(), topic=request.args.get("topicName") or None,
                                        instance_id=instance,
                                        incidents_only=(request.args.get("noRetriesLeft") or "") == "true")
    return jsonify(paged([_task_json(i) for i in items]))


@bp.get("/external-task/<task_id>")
def external_task(task_id: str):
    """One open external task."""
    items = service.list_external_tasks(db(), actor(), task_id=task_id)
    if not items:
        raise NotFound(f"External task with id {task_id} does not exist")
    return jsonify(_task_json(items[0]))
