"""User tasks as Camunda's task resource: the caller's inbox, claim, unclaim, set assignee, delegate,
complete, form values.

The caller sees and acts on exactly the tasks the web inbox shows them: the same service calls.
"""
from __future__ import annotations

from flask import jsonify, request

from engine import services
from engine.errors import Forbidden, InvalidInput
from engine.numbers import MAX_ID, whole_number
from engine.services import TaskFilter
from webui.engine_rest import actor, bp, variables
from webui.engine_rest.shapes import body, paged, task_json
from webui.views import db

FORM_TYPES = {"long": "Long", "boolean": "Boolean", "date": "Date", "string": "String", "enum": "String"}


def _filter() -> TaskFilter:
    args = request.args
    instance = args.get("processInstanceId")
    number = whole_number(instance, most=MAX_ID)
    if instance is not None and number is None:
        raise InvalidInput(f"processInstanceId '{instance}' is not a case number.")
    scope = "open"
    if args.get("assignee") or (args.get("assigned") or "").lower() == "true":
        scope = "mine"
    elif (args.get("unassigned") or "").lower() == "true" or args.get("candidateGroup"):
        scope = "group"
    return TaskFilter(scope=scope, group=args.get("candidateGroup") or None,
                      instance_id=number,
                      process_id=args.get("processDefinitionKey") or None, per_page=500)


@bp.get("/task")
def task_list():
    """Tasks the caller may work on (assignee, candidateGroup, unassigned, processInstanceId,
    processDefinitionKey, taskDefinitionKey, firstResult, maxResults)."""
    assignee = request.args.get("assignee")
    if assignee and assignee != actor().name:
        raise Forbidden(f"Only your own tasks can be listed by assignee here (you are {actor().name}).")
    element = request.args.get("taskDefinitionKey")
    page = services.list_tasks(db(), actor(), _filter())
    rows = [task_json(t) for t in page.items if element in (None, t.element_id)]
    return jsonify(paged(rows))


@bp.get("/task/count")
def task_count():
    """Count the tasks /task lists."""
    element = request.args.get("taskDefinitionKey")
    page = services.list_tasks(db(), actor(), _filter())
    return jsonify(count=len([t for t in page.items if element in (None, t.element_id)]))


@bp.get("/task/<task_id>")
def task_one(task_id: str):
    """One task the caller has a part in."""
    return jsonify(task_json(services.get_task(db(), task_id, actor()).task))


@bp.post("/task/<task_id>/claim")
def task_claim(task_id: str):
    """Claim for the caller (``userId`` must be the caller)."""
    user = body().get("userId")
    if user not in (None, actor().name):
        raise Forbidden(f"You can only claim tasks for yourself ({actor().name}), not for {user}.")
    services.claim(db(), task_id, actor())
    return "", 204


@bp.post("/task/<task_id>/assignee")
def task_assignee(task_id: str):
    """Set the assignee: the caller themselves is a claim; anyone else is a supervisor's
    assignment (the team view's rule: a person of the task's groups)."""
    user = body().get("userId")
    if not isinstance(user, str) or not user.strip():
        raise InvalidInput("userId: the user to assign the task to (to give a task back, use /unclaim).")
    if user == actor().name:
        services.claim(db(), task_id, actor())
    else:
        services.assign(db(), task_id, actor(), user)
    return "", 204


@bp.post("/task/<task_id>/delegate")
def task_delegate(task_id: str):
    """Delegate the caller's task to a colleague of its groups (``userId``), as the web inbox does."""
    user = body().get("userId")
    if not isinstance(user, str) or not user.strip():
        raise InvalidInput("userId: the colleague to delegate the task to.")
    services.delegate(db(), task_id, actor(), user)
    return "", 204


@bp.post("/task/<task_id>/unclaim")
def task_unclaim(task_id: str):
    """Put a task the caller claimed back into its groups' queue."""
    services.unclaim(db(), task_id, actor())
    return "", 204


@bp.post("/task/<task_id>/complete")
def task_complete(task_id: str):
    """Complete with the form's values as typed variables (checked like the web form)."""
    data = body()
    done = services.complete(db(), task_id, actor(), variables.to_python(data.get("variables")))
    if data.get("withVariablesInReturn"):
        view = services.show_instance(db(), done.instance_id, actor())
        return jsonify(variables.typed_all(view.data))
    return "", 204


@bp.get("/task/<task_id>/form-variables")
def task_form_variables(task_id: str):
    """The task form's fields with their current values (``variableNames`` to pick some)."""
    view = services.get_task(db(), task_id, actor())
    wanted = {n.strip() for n in (request.args.get("variableNames") or "").split(",") if n.strip()}
    result = {}
    for field in view.fields:
        if wanted and field.id not in wanted:
            continue
        value = view.values.get(field.id)
        typed = variables.typed(value)
        if value is None:
            typed["type"] = FORM_TYPES.get(field.type, "String")
        result[field.id] = typed
    return jsonify(result)


@bp.get("/task/<task_id>/variables")
def task_variables(task_id: str):
    """The case data the task sees."""
    return jsonify(variables.typed_all(services.get_task(db(), task_id, actor()).case_data))


