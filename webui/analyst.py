"""The analyst's pages: upload diagrams, read the lint report, deploy; versions, diagrams, sources.

The lint report is `services.deploy.check_files`, the very checks `bpmdesk deploy` and the REST
deploy run; deploying posts back the files that were checked, with the running version each process
had then, so a report that went stale (someone deployed meanwhile, a replayed form) deploys nothing.
"""
from __future__ import annotations

import base64
import json
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import quote

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from markupsafe import Markup

from engine import compat, diagram
from engine.compat.diff import VersionDiff
from engine.compat.xmlsafe import finding_of
from engine.errors import BpmdeskError, InvalidInput
from engine.services import deploy as deploy_service
from engine.services import migration
from webui.views import actor, db

bp = Blueprint("analyst", __name__, url_prefix="/analyst")


@bp.before_request
def _deployers_only() -> None:
    """Every page here is an analyst's (or an admin's): refused before any input is read."""
    if current_user.is_authenticated:
        deploy_service.require_deployer(actor())

#: What the upload accepts: the files Camunda Modeler saves.
UPLOAD_SUFFIXES = (*deploy_service.DIAGRAM_SUFFIXES,)


@bp.get("/")
@login_required
def index():
    return render_template("analyst/index.html", processes=deploy_service.process_catalogue(db(), actor()),
                           suffixes=",".join(UPLOAD_SUFFIXES))


def _uploaded() -> list[compat.SourceFile]:
    """The files of the upload form, each by its own file name (no folders)."""
    files = []
    for storage in request.files.getlist("files"):
        if not storage.filename:
            continue
        name = PurePosixPath(storage.filename.replace("\\", "/")).name
        if not deploy_service.is_diagram(name):
            raise InvalidInput(f"{name}：只能上传 {'、'.join(UPLOAD_SUFFIXES)} 文件。")
        files.append(compat.SourceFile(name, storage.read(deploy_service.MAX_FILE_BYTES + 1)))
    if not files:
        raise InvalidInput("请选择要检查的 .bpmn / .dmn / .form 文件。")
    return files


def _posted_back() -> list[compat.SourceFile]:
    """The files a check page carries to its deploy button, exactly as they were checked."""
    names, contents = request.form.getlist("file_name"), request.form.getlist("file_content")
    if not names or len(names) != len(contents):
        raise InvalidInput("部署表单不完整：请重新上传并检查。")
    try:
        return [compat.SourceFile(n, base64.b64decode(c, validate=True)) for n, c in zip(names, contents)]
    except ValueError:
        raise InvalidInput("部署表单已损坏：请重新上传并检查。") from None


@bp.post("/check")
@login_required
def check():
    files = _uploaded()
    report = deploy_service.check_files(db(), files, actor())
    drawings = {p.process_id: _diff_drawings(p.diff, p.bpmn, p.process_id, p.running_id)
                for p in report.processes if p.diff is not None}
    return render_template("analyst/check.html", report=report, files=files, drawings=drawings,
                           errors=[finding_of(p) for p in report.errors],
                           warnings=[finding_of(p) for p in report.warnings],
                           expected=json.dumps(report.expected()), encoded=_encoded)


def _encoded(source: compat.SourceFile) -> str:
    """A file's bytes for a hidden field: a browser submits text fields with CRLF line ends, which
    would make a checked file differ from the deployed one; base64 has no line ends."""
    return base64.b64encode(source.content).decode("ascii")


@bp.post("/deploy")
@login_required
def deploy():
    try:
        expected: dict[str, Any] = json.loads(request.form.get("expected") or "")
    except ValueError:
        raise InvalidInput("部署表单不完整：请重新上传并检查。") from None
    if not isinstance(expected, dict):
        raise InvalidInput("部署表单不完整：请重新上传并检查。")
    report = deploy_service.deploy_files(db(), _posted_back(), actor(), expected=expected)
    for item in report.processes:
        flash(f"{'已部署' if item.changed else '未变化'} {item.name or item.process_id} v{item.version}", "ok")
    return redirect(url_for("analyst.index"))


@bp.get("/versions/<int:definition_id>")
@login_required
def version(definition_id: int):
    definition, files = deploy_service.version_files(db(), definition_id, actor())
    catalogue = {p.process_id: p for p in deploy_service.process_catalogue(db(), actor())}
    summary = next(v for v in catalogue[definition.process_id].versions if v.id == definition_id)
    return render_template("analyst/version.html", definition=definition, summary=summary, files=files,
                           svg=_diagram(files[0].content, definition.process_id),
                           versions=catalogue[definition.process_id].versions)


def _diff_drawings(diff: VersionDiff, new_bpmn: bytes, process_id: str, old_id: int) -> tuple[Markup | str, Markup | str]:
    """The new diagram with what was added and changed, the old one with what was removed and changed."""
    _, old_files = deploy_service.version_files(db(), old_id, actor())
    return (_diagram(new_bpmn, process_id, added=diff.added, changed=diff.changed),
            _diagram(old_files[0].content, process_id, removed=diff.removed, changed=diff.changed))


@bp.get("/diff")
@login_required
def diff():
    """Two versions of one process compared (`?old=ID&new=ID`)."""
    old_id, new_id = _version_arg("old"), _version_arg("new")
    changes = deploy_service.diff_versions(db(), old_id, new_id, actor())
    old, _ = deploy_service.version_files(db(), old_id, actor())
    new, new_files = deploy_service.version_files(db(), new_id, actor())
    new_svg, old_svg = _diff_drawings(changes, new_files[0].content, new.process_id, old_id)
    return render_template("analyst/diff.html", old=old, new=new, diff=changes, new_svg=new_svg, old_svg=old_svg)


def _version_arg(name: str) -> int:
    value = request.args.get(name, "")
    if not value.isdigit() or len(value) > 9:
        raise InvalidInput("请选择要比较的两个版本。")
    return int(value)


def _diagram(bpmn: bytes, process_id: str, **states: Any) -> Markup | str:
    try:
        return Markup(diagram.render_svg(bpmn, process_id, **states))
    except BpmdeskError as error:
        return str(error)


@bp.get("/versions/<int:definition_id>/files/<int:index>")
@login_required
def download(definition_id: int, index: int):
    definition, files = deploy_service.version_files(db(), definition_id, actor())
    if index >= len(files):
        raise InvalidInput(f"版本 {definition_id} 没有第 {index + 1} 个文件。")
    name = PurePosixPath(files[index].name.replace("\\", "/")).name
    response = Response(files[index].content, mimetype="application/xml")
    response.headers["Content-Disposition"] = _attachment(name)
    return response


def _attachment(name: str) -> str:
    """An attachment header a browser saves under the file's own (possibly Chinese) name."""
    return f"attachment; filename=\"{quote(name)}\"; filename*=UTF-8''{quote(name)}"


# --- migration of open cases ------------------------------------------------------------------------

#: Cases listed on a dry-run page (the counts cover every case).
SHOWN_CASES = 500


def _mapping(values: Any) -> dict[str, str]:
    """`map.ELEMENT=TARGET` fields: the analyst's choice for each removed element (empty: none)."""
    return {key[4:]: value for key, value in values.items() if key.startswith("map.") and value}


def _target_arg(values: Any, default: int | None) -> int:
    value = values.get("to", "")
    if value.isdigit() and len(value) <= 9:
        return int(value)
    if default is None:
        raise InvalidInput("请选择迁移到哪个版本。")
    return default


@bp.get("/versions/<int:definition_id>/migrate")
@login_required
def migrate_check(definition_id: int):
    """The dry run: per open case, safe or not and why, with the mapping the analyst chose."""
    definition, _ = deploy_service.version_files(db(), definition_id, actor())
    versions = next(p.versions for p in deploy_service.process_catalogue(db(), actor())
                    if p.process_id == definition.process_id)
    to_id = _target_arg(request.args, next((v.id for v in versions if v.id != definition_id), None))
    mapping = _mapping(request.args)
    checks = migration.dry_run(db(), definition_id, to_id, mapping, actor())
    unmapped = sorted({element for c in checks for element in c.unmapped} | set(mapping))
    return render_template("analyst/migrate.html", definition=definition, versions=versions, to_id=to_id,
                           checks=checks[:SHOWN_CASES], total=len(checks), safe=sum(c.safe for c in checks),
                           mapping=mapping, unmapped=unmapped,
                           targets=migration.target_elements(db(), to_id, actor()))


@bp.post("/versions/<int:definition_id>/migrate")
@login_required
def migrate_run(definition_id: int):
    """One batch of the safe cases; the page says how many are left and offers the next batch."""
    to_id, mapping = _target_arg(request.form, None), _mapping(request.form)
    batch = request.form.get("batch", "100")
    run = migration.migrate_cases(db(), definition_id, to_id, mapping, actor(),
                                  batch=int(batch) if batch.isdigit() and len(batch) < 6 else 0)
    flash(f"已迁移 {len(run.migrated)} 件；不安全未迁移 {len(run.unsafe)} 件；失败 {len(run.failed)} 件；"
          f"旧版本上还有 {run.remaining} 件未办结。", "ok")
    for instance_id, message in run.failed[:20]:
        flash(f"案件 {instance_id}：{message}", "error")
    return redirect(url_for("analyst.migrate_check", definition_id=definition_id, to=to_id,
                            **{f"map.{k}": v for k, v in mapping.items()}))


@bp.post("/cases/<int:instance_id>/migrate-back")
@login_required
def migrate_back(instance_id: int):
    migration.migrate_back(db(), instance_id, actor())
    flash(f"案件 {instance_id} 已迁回原版本。", "ok")
    return redirect(url_for("cases.show", instance_id=instance_id))
