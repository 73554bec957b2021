"""Deploying diagrams: a changed file is a new version; an unchanged file changes nothing."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Callable, Iterable

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session, defer

from engine import clock, compat, runtime
from engine.compat.diff import VersionDiff, diff_bundles
from engine.errors import Conflict, DeployError, InvalidInput, NotFound
from engine.history import record
from engine.services import access
from engine.services.access import Actor
from engine.services.message_starts import check_unique as check_message_starts
from engine.services.steps import translating_races
from engine.store import Database, DefinitionVersion, Instance
from engine.store.prepared import Prepared

#: Camunda Modeler saves ``.bpmn``/``.dmn`` (and ``.form``, Camunda Forms); Camunda 7 also deploys
#: ``.bpmn20.xml``/``.dmn11.xml``.
DIAGRAM_SUFFIXES = (".bpmn", ".dmn", ".bpmn20.xml", ".dmn11.xml", ".form")
MAX_FILE_BYTES = 5 * 1024 * 1024


@dataclass(frozen=True)
class DeployedProcess:
    process_id: str
    version: int
    changed: bool
    name: str | None
    definition_id: int | None = None


@dataclass(frozen=True)
class DeployedDecision:
    """A decision version a deployment created (Camunda's `deployedDecisionDefinitions`)."""

    decision_id: str
    name: str | None
    version: int
    resource: str  # the DMN file's name
    version_tag: str | None
    deployment_id: int  # the process version that first carried it


@dataclass
class DeployReport:
    processes: list[DeployedProcess] = field(default_factory=list)
    decisions: list[DeployedDecision] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    translations: list[str] = field(default_factory=list)  # how each JUEL expression will run
    constructs: dict[str, list] = field(default_factory=dict)  # per BPMN file: runs / ignored / unknown


@dataclass(frozen=True)
class PlannedProcess:
    """What deploying an upload would do to one process: a new version, or nothing (unchanged)."""

    process_id: str
    name: str | None
    running_version: int | None  # the newest deployed version, None for a new process
    running_id: int | None
    changed: bool
    bpmn: bytes = b""  # the uploaded file defining it, to draw
    diff: VersionDiff | None = None  # from the running version, when there is one and it changes

    @property
    def next_version(self) -> int:
        return (self.running_version or 0) + 1 if self.changed else (self.running_version or 1)


@dataclass
class DeployCheck:
    """The lint report of an upload (the same checks as a deploy) and what its deploy would do."""

    errors: list[str] = field(default_factory=list)  # each a compat Finding (FILE:LINE, element, rule)
    warnings: list[str] = field(default_factory=list)
    translations: list[str] = field(default_factory=list)
    processes: list[PlannedProcess] = field(default_factory=list)

    @property
    def deployable(self) -> bool:
        return not self.errors

    def expected(self) -> dict[str, int | None]:
        """The running version each process was checked against: a deploy of the same upload
        refuses to go ahead if someone deployed in between (`deploy_files(expected=…)`)."""
        return {p.process_id: p.running_id for p in self.processes}


def is_diagram(name: str) -> bool:
    """A file name Camunda would deploy as a BPMN or DMN resource."""
    return name.lower().endswith(DIAGRAM_SUFFIXES)


def collect_files(paths: Iterable[str | Path]) -> list[compat.SourceFile]:
    """Every .bpmn/.dmn file named or found below the given folders, in a stable order."""
    files: list[compat.SourceFile] = []
    for path in map(Path, paths):
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file() and is_diagram(p.name))
        elif path.is_file():
            found = [path]
        else:
            raise DeployError([f"{path}: no such file or folder"])
        for item in found:
            if item.stat().st_size > MAX_FILE_BYTES:
                raise DeployError([f"{item}: file is larger than {MAX_FILE_BYTES // 1024 // 1024} MiB"])
            files.append(compat.SourceFile(str(item), item.read_bytes()))
    if not files:
        raise DeployError([f"{', '.join(map(str, paths))}: no .bpmn or .dmn file found"])
    return files


def deploy_paths(db: Database, paths: Iterable[str | Path], actor: Actor) -> DeployReport:
    return deploy_files(db, collect_files(paths), actor)


def require_deployer(actor: Actor) -> None:
    """Only admins and analysts deploy, and see what is deployed with its open cases."""
    access.require_deployer(actor)


def check_files(db: Database, files: list[compat.SourceFile], actor: Actor) -> DeployCheck:
    """A dry run of `deploy_files`: every check a deploy makes, and nothing written. Problems come
    back in the report instead of as a `DeployError`, for the analyst pages to list."""
    access.require_deployer(actor)
    try:
        bundle = compat.load_bundle(files, _Earlier(db))
        with db.unit_of_work(read_only=True) as session:
            check_message_starts(db, session, bundle)
            planned = [_planned(session, bundle.processes[pid]) for pid in sorted(bundle.processes)]
    except DeployError as error:
        return DeployCheck(errors=list(error.problems), warnings=list(error.warnings))
    check = DeployCheck(warnings=list(bundle.warnings), translations=list(bundle.translations), processes=planned)
    for source, warning in bundle.unused.items():
        users = _users_of(db, source, set(bundle.processes))
        if users:
            check.warnings.remove(warning)
            check.translations.append(f"{source.name}:1: deploying it gives {', '.join(u.process_id for u in users)} "
                                      "a new version with it (binding latest)")
    return check


def _planned(session: Session, process: compat.ProcessBundle) -> PlannedProcess:
    latest = latest_version(session, process.process_id)
    changed = latest is None or latest.content_hash != process.content_hash()
    diff = diff_bundles(runtime.bundle_of(latest), process) if latest is not None and changed else None
    return PlannedProcess(process.process_id, process.name, latest.version if latest else None,
                          latest.id if latest else None, changed, process.bpmn.content, diff)


def diff_versions(db: Database, old_id: int, new_id: int, actor: Actor) -> VersionDiff:
    """What changed from one deployed version of a process to another (either way round)."""
    access.require_deployer(actor)
    old, new = get_version(db, old_id), get_version(db, new_id)
    if old.process_id != new.process_id:
        raise InvalidInput(f"版本 {old_id} 与 {new_id} 不是同一个流程的版本，无法比较。")
    return diff_bundles(runtime.bundle_of(old), runtime.bundle_of(new))


@translating_races
def deploy_files(db: Database, files: list[compat.SourceFile], actor: Actor,
                 expected: dict[str, int | None] | None = None) -> DeployReport:
    """Validate every file first; only if all are deployable is anything written.

    ``expected`` (from `DeployCheck.expected`): the running version each process had when the
    analyst checked the upload; a different one now means the report they read is stale."""
    access.require_deployer(actor)
    bundle = compat.load_bundle(files, _Earlier(db))
    report = DeployReport(warnings=list(bundle.warnings), translations=list(bundle.translations),
                          constructs=dict(bundle.constructs))
    with db.unit_of_work() as session:
        check_message_starts(db, session, bundle)
        if expected is not None:
            _require_unchanged(session, bundle, expected)
        for process_id in sorted(bundle.processes):
            report.processes.append(_deploy_process(session, bundle.processes[process_id], actor.name))
    _redeploy_users(db, bundle, report, actor)
    _rebind_callers(db, report, actor)
    created = {p.definition_id for p in report.processes if p.changed}
    report.decisions = [d for d in _decision_catalogue(db) if d.deployment_id in created] if created else []
    return report


def _redeploy_users(db: Database, bundle: compat.Bundle, report: DeployReport, actor: Actor) -> None:
    """Camunda's binding latest (`decisionRefBinding`, `formRefBinding`) uses the newest decision or
    form. A DMN or .form file that no process of the deployment uses (a changed table or form
    deployed alone, as from Modeler) gives each process deployed earlier that uses it with that
    binding a new version with it; their earlier versions, and open cases, keep what they had."""
    done = {p.process_id for p in report.processes}
    for source, warning in bundle.unused.items():
        defined = compat.resource_ids(source)
        users = _users_of(db, source, done)
        if users:
            report.warnings.remove(warning)
        for user in users:
            others = [form for form in user.forms if not compat.resource_ids(form) & defined]
            _redeploy(db, user, [user.bpmn, *others, source], report, actor, done,
                      keeps=f"{source.name}:1: {user.process_id} keeps the version it has",
                      uses=f"{source.name}:1: {user.process_id} v{{version}} uses this file (binding latest)")


def _redeploy(db: Database, earlier: compat.ProcessBundle, files: list[compat.SourceFile], report: DeployReport,
              actor: Actor, done: set[str], keeps: str, uses: str) -> bool:
    """Deploy a process deployed earlier again from `files`, resolving what they leave open against
    what is deployed now. A process that no longer deploys keeps its version (the warning `keeps`
    says why); a new version is reported with `uses` (``{version}`` filled in). True if it changed."""
    try:
        rebuilt = compat.load_bundle(files, _Earlier(db)).processes[earlier.process_id]
    except DeployError as error:
        report.warnings.append(f"{keeps}: {error.problems[0]}")
        return False
    with db.unit_of_work() as session:
        deployed = _deploy_process(session, rebuilt, actor.name)
    done.add(earlier.process_id)
    if deployed.changed:
        report.processes.append(deployed)
        report.translations.append(uses.format(version=deployed.version))
    return deployed.changed


def _users_of(db: Database, source: compat.SourceFile, skip: set[str]) -> list[compat.ProcessBundle]:
    """The newest version of each process (not in `skip`) whose tasks use a decision or the form
    of this file with binding latest."""
    defined = compat.resource_ids(source)
    return _newest_where(db, skip, lambda user: bool(compat.latest_refs(user) & defined))


def _newest_where(db: Database, skip: set[str],
                  wanted: Callable[[compat.ProcessBundle], bool]) -> list[compat.ProcessBundle]:
    """The newest version of each deployed process (not in `skip`) for which `wanted` holds."""
    found = []
    for definition in list_definitions(db):
        if definition.process_id in skip:
            continue
        with db.unit_of_work(read_only=True) as session:
            bundle = runtime.bundle_of(session.get(DefinitionVersion, definition.id))
        if wanted(bundle):
            found.append(bundle)
    return found


def _require_unchanged(session: Session, bundle: compat.Bundle, expected: dict[str, int | None]) -> None:
    for process_id in sorted(set(bundle.processes) | set(expected)):
        latest = latest_version(session, process_id)
        now = latest.id if latest else None
        if process_id not in expected or process_id not in bundle.processes or expected[process_id] != now:
            by = f"（{latest.deployed_by} 部署了 v{latest.version}）" if latest and now != expected.get(process_id) else ""
            raise Conflict(f"流程 {process_id} 在您检查之后有了变化{by}，或上传的文件已不同："
                           "请重新上传并检查后再部署。")


#: How many rounds of callers-of-callers a deployment rebinds (a chain of calls, not a cycle).
_MAX_REBIND_ROUNDS = 10


def _rebind_callers(db: Database, report: DeployReport, actor: Actor) -> None:
    """Camunda's `calledElementBinding="latest"` calls the newest version of the called process.
    Versions here carry the callees they were deployed with, so a process calling one that just
    got a new version gets a new version of its own that calls it (its earlier ones keep theirs).
    A caller bound to a version, a versionTag or its deployment resolves as before: unchanged."""
    changed = {p.process_id for p in report.processes if p.changed}
    done = {p.process_id for p in report.processes}
    for _ in range(_MAX_REBIND_ROUNDS):
        called = changed
        callers = _newest_where(db, done, lambda caller: any(
            _defines(source, process_id) for source in caller.callees for process_id in called)) if called else []
        if not callers:
            return
        changed = {caller.process_id for caller in callers if _redeploy(
            db, caller, [caller.bpmn, *caller.forms], report, actor, done,
            keeps=f"{caller.bpmn.name}:1: {caller.process_id} keeps calling the versions it was deployed with",
            uses=f"{caller.bpmn.name}:1: {caller.process_id} v{{version}} calls the newest versions of the "
                 "processes it calls")}


def _defines(source: compat.SourceFile, process_id: str) -> bool:
    return f'id="{process_id}"'.encode() in source.content


class _Earlier:
    """What is deployed already, for call activities and decisions a deployment leaves to it."""

    def __init__(self, db: Database):
        self.db = db

    def process(self, process_id: str, binding: str, version: str | None,
                version_tag: str | None) -> compat.EarlierVersion | str:
        with self.db.unit_of_work() as session:
            versions = session.scalars(select(DefinitionVersion).where(DefinitionVersion.process_id == process_id)
                                       .order_by(DefinitionVersion.version.desc())).all()
            if not versions:
                return ", which is neither in this deployment nor deployed earlier: deploy its file too"
            chosen = next((v for v in versions if _selected(v, binding, version, version_tag)), None)
            if chosen is None:
                wanted = f"v{version}" if binding == "version" else f'versionTag "{version_tag}"'
                have = ", ".join(f"v{v.version}" for v in versions)
                return f", but no deployed version of it has {wanted} (deployed: {have})"
            return compat.EarlierVersion(runtime.bundle_of(chosen), chosen.version)

    def decision_versions(self, decision_id: str) -> list[compat.DecisionVersion]:
        return decision_versions(self.db, decision_id)

    def form(self, form_id: str) -> compat.SourceFile | None:
        with self.db.unit_of_work(read_only=True) as session:
            for definition in session.scalars(select(DefinitionVersion).order_by(DefinitionVersion.id.desc())):
                for item in definition.files:
                    if item["role"] == "form" and form_id in item["content"] and _form_id(item["content"]) == form_id:
                        return compat.SourceFile(item["name"], item["content"].encode("utf-8"))
        return None


def _form_id(content: str) -> str | None:
    try:
        schema = json.loads(content)
    except ValueError:
        return None
    return str(schema.get("id")) if isinstance(schema, dict) else None


def decision_versions(db: Database, decision_id: str) -> list[compat.DecisionVersion]:
    """Every deployed version of a decision, v1 first (see `_decision_catalogue`)."""
    return [compat.DecisionVersion(d.decision_id, d.version, source, d.version_tag)
            for d, source in _decision_catalogue(db, decision_id, with_sources=True)]


def _decision_catalogue(db: Database, decision_id: str | None = None, with_sources: bool = False) -> list:
    """Every deployed decision version (of one decision, or all), oldest first. DMN files are stored
    with the process versions that use them; Camunda numbers a decision's versions by the
    deployments that changed its file, so each new content of the file defining a decision, in
    deploy order, is its next version. With `with_sources`: (version, its SourceFile) pairs."""
    seen: dict[str, list[bytes]] = {}
    found: list = []
    with db.unit_of_work(read_only=True) as session:
        for definition in session.scalars(select(DefinitionVersion).order_by(DefinitionVersion.id)):
            for item in definition.files:
                if item["role"] != "dmn" or (decision_id is not None and decision_id not in item["content"]):
                    continue
                content = item["content"].encode("utf-8")
                for key, head in compat.decision_heads(item["content"]).items():
                    if decision_id not in (None, key) or content in seen.setdefault(key, []):
                        continue
                    seen[key].append(content)
                    version = DeployedDecision(key, head.name, len(seen[key]), item["name"], head.version_tag,
                                               definition.id)
                    found.append((version, compat.SourceFile(item["name"], content)) if with_sources else version)
    return found


def deployed_decision_file(db: Database, decision_id: str) -> compat.SourceFile | None:
    """The DMN file of the decision's newest version (Camunda's "latest" binding)."""
    versions = decision_versions(db, decision_id)
    return versions[-1].source if versions else None


def _selected(definition: DefinitionVersion, binding: str, version: str | None, tag: str | None) -> bool:
    if binding == "version":
        return str(definition.version) == version
    if binding == "versionTag":
        return compat.version_tag(runtime.bundle_of(definition)) == tag
    return True


def _deploy_process(session: Session, process: compat.ProcessBundle, actor: str) -> DeployedProcess:
    latest = latest_version(session, process.process_id)
    digest = process.content_hash()
    if latest is not None and latest.content_hash == digest:
        return DeployedProcess(process.process_id, latest.version, False, latest.name, latest.id)
    compat.parse_specs(process)  # proves the specs build before anything is stored
    definition = DefinitionVersion(
        process_id=process.process_id,
        version=(latest.version + 1) if latest else 1,
        name=process.name,
        content_hash=digest,
        files=_stored_files(process),
        start_groups=list(process.start_groups),
        timer_start=process.timer_start,
        deployed_at=clock.now(),
        deployed_by=actor,
    )
    session.add(definition)
    session.flush()
    record(session, "definition_deployed", actor, definition_id=definition.id,
           payload={"process_id": definition.process_id, "version": definition.version,
                    "content_hash": digest, "files": [f["name"] for f in definition.files]})
    return DeployedProcess(definition.process_id, definition.version, True, definition.name, definition.id)


def _stored_files(process: compat.ProcessBundle) -> list[dict[str, str]]:
    roles = [("bpmn", [process.bpmn]), ("dmn", process.dmn), ("callee", process.callees), ("form", process.forms)]
    return [
        {"name": source.name, "role": role, "content": _text_of(source)}
        for role, sources in roles for source in sources
    ]


def _text_of(source: compat.SourceFile) -> str:
    try:
        return source.content.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DeployError([f"{source.name}:1: the file is not UTF-8 encoded ({exc.reason})"]) from exc


def latest_version(session: Session, process_id: str) -> DefinitionVersion | None:
    return session.scalars(
        select(DefinitionVersion).where(DefinitionVersion.process_id == process_id)
        .order_by(DefinitionVersion.version.desc()).limit(1)
    ).first()


_LATEST_ID = Prepared(select(DefinitionVersion.id).where(DefinitionVersion.process_id == bindparam("process"))
                      .order_by(DefinitionVersion.version.desc()).limit(1))


def require_latest(db: Database, session: Session, process_id: str) -> runtime.Deployed:
    """The newest version of a process, from the cache once parsed."""
    latest = _LATEST_ID.first(session, process=process_id)
    if latest is None:
        raise NotFound(f"流程 {process_id} 未部署。")
    return runtime.deployed(db, session, latest.id)


def list_definitions(db: Database) -> list[DefinitionVersion]:
    """The newest version of every deployed process (without its sources: listings need none)."""
    with db.unit_of_work(read_only=True) as session:
        newest = (select(DefinitionVersion.process_id, func.max(DefinitionVersion.version).label("v"))
                  .group_by(DefinitionVersion.process_id).subquery())
        return list(session.scalars(
            select(DefinitionVersion).options(defer(DefinitionVersion.files)).join(
                newest, (DefinitionVersion.process_id == newest.c.process_id)
                & (DefinitionVersion.version == newest.c.v))
            .order_by(DefinitionVersion.process_id)))


def list_versions(db: Database, process_id: str | None = None, definition_id: int | None = None,
                  latest_only: bool = False) -> list[DefinitionVersion]:
    """Deployed versions (without their sources), oldest first; ``latest_only``: the newest of each."""
    if latest_only:
        return [d for d in list_definitions(db) if process_id in (None, d.process_id)
                and definition_id in (None, d.id)]
    with db.unit_of_work(read_only=True) as session:
        query = select(DefinitionVersion).options(defer(DefinitionVersion.files))
        if process_id is not None:
            query = query.where(DefinitionVersion.process_id == process_id)
        if definition_id is not None:
            query = query.where(DefinitionVersion.id == definition_id)
        return list(session.scalars(query.order_by(DefinitionVersion.id)))


def get_version(db: Database, definition_id: int) -> DefinitionVersion:
    """One deployed version with the sources it was deployed with."""
    with db.unit_of_work(read_only=True) as session:
        definition = session.get(DefinitionVersion, definition_id)
        if definition is None:
            raise NotFound(f"流程版本 {definition_id} 不存在。")
        return definition


#: A case still open on its version: what a new version does not reach until it is migrated.
OPEN_STATUSES = ("running", "incident")


@dataclass(frozen=True)
class VersionSummary:
    id: int
    process_id: str
    version: int
    name: str | None
    deployed_at: datetime
    deployed_by: str
    open_cases: int


@dataclass(frozen=True)
class ProcessVersions:
    process_id: str
    name: str | None  # the newest version's
    versions: list[VersionSummary]  # newest first


def process_catalogue(db: Database, actor: Actor) -> list[ProcessVersions]:
    """Every deployed process with each version: who deployed it when, and its open cases (an
    analyst's view before deploying or migrating)."""
    access.require_deployer(actor)
    with db.unit_of_work(read_only=True) as session:
        counts = dict(session.execute(
            select(Instance.definition_id, func.count()).where(Instance.status.in_(OPEN_STATUSES))
            .group_by(Instance.definition_id)).all())
    by_process: dict[str, list[VersionSummary]] = {}
    for row in list_versions(db):
        by_process.setdefault(row.process_id, []).append(VersionSummary(
            row.id, row.process_id, row.version, row.name, row.deployed_at, row.deployed_by,
            counts.get(row.id, 0)))
    return [ProcessVersions(pid, versions[-1].name, sorted(versions, key=lambda v: -v.version))
            for pid, versions in sorted(by_process.items())]


def version_files(db: Database, definition_id: int, actor: Actor) -> tuple[DefinitionVersion, list[compat.SourceFile]]:
    """One version and the files it was deployed with, byte for byte (what Camunda Modeler opens)."""
    access.require_deployer(actor)
    definition = get_version(db, definition_id)
    return definition, [compat.SourceFile(f["name"], f["content"].encode("utf-8")) for f in definition.files]
