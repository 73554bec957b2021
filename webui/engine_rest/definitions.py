"""Process definitions: listing, the deployed XML, and starting an instance (Modeler's Start
button posts to ``/process-definition/{id}/start``)."""
from __future__ import annotations

from flask import jsonify, request

from engine import services
from engine.errors import InvalidInput, NotFound
from engine.services import deploy as deploy_service
from webui.engine_rest import actor, bp, variables
from webui.engine_rest.shapes import body, definition_id, definition_json, instance_json, paged, \
    version_of_definition_id
from webui.views import db


def _truthy(name: str) -> bool:
    return (request.args.get(name) or "").lower() == "true"


@bp.get("/process-definition")
def process_definitions():
    """List process definitions (key, keyLike, name, latestVersion, firstResult, maxResults)."""
    versions = deploy_service.list_versions(db(), process_id=request.args.get("key") or None,
                                            latest_only=_truthy("latestVersion"))
    like = (request.args.get("keyLike") or "").replace("%", "")
    name = request.args.get("name")
    rows = [definition_json(v) for v in versions if like in v.process_id and name in (None, v.name)]
    return jsonify(paged(rows))


@bp.get("/process-definition/count")
def process_definitions_count():
    """Count process definitions."""
    return jsonify(count=len(deploy_service.list_versions(db(), latest_only=_truthy("latestVersion"))))


def _latest(key: str):
    found = deploy_service.list_versions(db(), process_id=key, latest_only=True)
    if not found:
        raise NotFound(f"No matching process definition with key: {key} and no tenant-id")
    return found[0]


def _by_id(text: str):
    found = deploy_service.list_versions(db(), definition_id=version_of_definition_id(text))
    if not found or definition_id(found[0]) != text:
        raise NotFound(f"No matching process definition with id {text}")
    return found[0]


@bp.get("/process-definition/key/<key>")
def process_definition_by_key(key: str):
    """The newest version of a process."""
    return jsonify(definition_json(_latest(key)))


@bp.get("/process-definition/<definition>")
def process_definition(definition: str):
    """One process definition by id (key:version:id)."""
    return jsonify(definition_json(_by_id(definition)))


def _xml(version) -> dict[str, str]:
    stored = deploy_service.get_version(db(), version.id)
    bpmn = next(f["content"] for f in stored.files if f["role"] == "bpmn")
    return {"id": definition_id(version), "bpmn20Xml": bpmn}


@bp.get("/process-definition/key/<key>/xml")
def process_definition_xml_by_key(key: str):
    """The BPMN XML of the newest version, as deployed."""
    return jsonify(_xml(_latest(key)))


@bp.get("/process-definition/<definition>/xml")
def process_definition_xml(definition: str):
    """The BPMN XML of one version, as deployed."""
    return jsonify(_xml(_by_id(definition)))


def _start(version):
    data = body()
    values = variables.to_python(data.get("variables"))
    business_key = data.get("businessKey")
    if business_key is not None and not isinstance(business_key, str):
        raise InvalidInput("businessKey must be a string.")
    instance_id = services.start_instance(db(), version.process_id, actor(), values, business_key=business_key)
    view = services.show_instance(db(), instance_id, actor())
    return jsonify(instance_json(instance_id, definition_id(version), business_key, view.status != "running"))


@bp.post("/process-definition/key/<key>/start")
def start_by_key(key: str):
    """Start an instance of the newest version (variables in Camunda's typed form, businessKey)."""
    return _start(_latest(key))


@bp.post("/process-definition/<definition>/start")
def start_by_id(definition: str):
    """Start an instance of this version (it must be the newest: older versions only finish)."""
    version = _by_id(definition)
    if _latest(version.process_id).id != version.id:
        raise InvalidInput(f"{definition} is not the newest version of {version.process_id}: "
                           "new cases start on the newest version here.")
    return _start(version)
