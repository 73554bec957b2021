"""Deployments: Modeler's connection check (``GET /deployment``) and its Deploy button.

bpmdesk has no deployment entity of its own: each deployed process version is listed as the
deployment that created it (id = the version's id). Deploying works as ``bpmdesk deploy`` does —
same checks, same rule that unchanged content keeps its version — which is what Modeler asks for
with ``enable-duplicate-filtering`` / ``deploy-changed-only``; so the response lists only the
versions this request created, like Camunda's (``null`` when nothing changed), and the decision
versions they brought (``deployedDecisionDefinitions``).
"""
from __future__ import annotations

from typing import Any

from flask import jsonify, request

from engine import clock, compat
from engine.errors import InvalidInput
from engine.services import deploy as deploy_service
from webui.engine_rest import actor, bp
from webui.engine_rest.shapes import camunda_time, decision_json, definition_json, deployment_json, paged
from webui.views import db

FORM_FIELDS = {"deployment-name", "deployment-source", "deploy-changed-only", "enable-duplicate-filtering",
               "tenant-id", "deployment-activation-time"}


@bp.get("/deployment")
def deployments():
    """List deployments (one per deployed process version); Modeler's connection check."""
    versions = deploy_service.list_versions(db())
    name = request.args.get("name")
    rows = [deployment_json(v) for v in versions if name in (None, v.process_id)]
    return jsonify(paged(rows))


@bp.get("/deployment/count")
def deployments_count():
    """Count deployments."""
    return jsonify(count=len(deploy_service.list_versions(db())))


@bp.get("/deployment/<int:deployment_id>")
def deployment(deployment_id: int):
    """One deployment."""
    return jsonify(deployment_json(deploy_service.get_version(db(), deployment_id)))


def _resources() -> list[compat.SourceFile]:
    """Every part that is not one of Camunda's form fields is a resource, named by its file name."""
    files = []
    for part_name, storage in request.files.items(multi=True):
        name = storage.filename or part_name  # .form files (Camunda Forms) deploy beside their diagrams
        files.append(compat.SourceFile(name, storage.read(deploy_service.MAX_FILE_BYTES + 1)))
    for part_name, text in request.form.items(multi=True):
        if part_name not in FORM_FIELDS:
            files.append(compat.SourceFile(part_name, text.encode("utf-8")))
    too_big = [f.name for f in files if len(f.content) > deploy_service.MAX_FILE_BYTES]
    if too_big:
        raise InvalidInput(f"{', '.join(too_big)}: larger than {deploy_service.MAX_FILE_BYTES // 1024 // 1024} MiB")
    return files


@bp.post("/deployment/create")
def create_deployment():
    """Deploy BPMN/DMN resources (multipart, as Camunda Modeler sends them)."""
    if not request.mimetype.startswith("multipart/"):
        raise InvalidInput("POST /deployment/create expects a multipart/form-data body.")
    if (request.form.get("tenant-id") or "").strip():
        raise InvalidInput("bpmdesk has no tenants: leave the tenant ID empty.")
    files = _resources()
    if not files:
        raise InvalidInput("No resources in the deployment: add a .bpmn or .dmn file part.")
    report = deploy_service.deploy_files(db(), files, actor())
    created = [p for p in report.processes if p.changed]
    first = min((p.definition_id for p in report.processes if p.definition_id), default=None)
    body: dict[str, Any] = {
        "links": [], "id": str(first) if first is not None else None,
        "name": request.form.get("deployment-name") or None,
        "source": request.form.get("deployment-source") or None, "tenantId": None,
        "deploymentTime": camunda_time(clock.now()),
        "deployedProcessDefinitions": {
            definition_json(v)["id"]: definition_json(v)
            for v in (deploy_service.get_version(db(), p.definition_id) for p in created)} or None,
        "deployedCaseDefinitions": None,
        "deployedDecisionDefinitions": {d["id"]: d for d in map(decision_json, report.decisions)} or None,
        "deployedDecisionRequirementsDefinitions": None,
        "warnings": report.warnings,
    }
    return jsonify(body)
