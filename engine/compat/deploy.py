"""Deploy check of a set of BPMN/DMN files, and building SpiffWorkflow specs from what was deployed.

`load_bundle` reads every file safely, validates it against the XSD, lints it, translates it, checks
references across files (call activities, decisions), and finally lets SpiffWorkflow parse every
process, so whatever SpiffWorkflow would reject is reported at deploy too. All problems of all
files are collected and raised together as one `DeployError`; nothing else ever escapes.
"""
from __future__ import annotations

import functools
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.camunda.specs.user_task import Form

from engine.compat.analysis import check_model
from engine.compat.camunda_forms import CamundaForm, attach_forms, is_form, read_form
from engine.compat.assignment import split_names
from engine.compat.dmn import check_dmn, decisions_of
from engine.compat.lint import FileFacts, check_bpmn
from engine.compat.model import (Bundle, DecisionVersion, DeployedDefinitions, EarlierVersion,
                                 ProcessBundle, SourceFile)
from engine.compat.inventory import Construct, inventory
from engine.compat.normalise import normalise_bpmn
from engine.compat.parser import build_parser
from engine.compat.schema import check_bpmn_schema
from engine.compat.translate import translate_bpmn
from engine.compat.xmlsafe import (BPMN_NS, CAMUNDA_DMN_NS, CAMUNDA_NS, DMN_NAMESPACES, Findings, UnreadableXml,
                                   describe, read_xml)
from engine import forms
from engine.errors import DeployError
from engine.numbers import MAX_ID, whole_number

log = logging.getLogger(__name__)


@dataclass
class _Document:
    source: SourceFile
    findings: Findings = field(default_factory=Findings)
    root: etree._Element | None = None
    kind: str = ""  # "bpmn" or "dmn" once recognised
    facts: FileFacts = field(default_factory=FileFacts)
    decisions: list[str] = field(default_factory=list)
    constructs: list[Construct] = field(default_factory=list)
    form: CamundaForm | None = None  # a .form file's, once read


def load_bundle(files: list[SourceFile], deployed: DeployedDefinitions | None = None) -> Bundle:
    """Check and translate a deployment; raise DeployError listing every problem of every file.

    `deployed` answers call activities and decisions this deployment does not define itself.
    """
    try:
        return _load(_sources(files), deployed)
    except DeployError:
        raise
    except Exception as error:  # a bug of ours must still reach the user as a deploy problem
        log.exception("deploy check crashed")
        names = ", ".join(getattr(f, "name", "?") for f in files or [])
        raise DeployError([f"{names}:1: internal error while checking ({type(error).__name__}: {error}); "
                           "please report this file to the maintainers"]) from None


def _sources(files: Iterable) -> list[SourceFile]:
    sources, problems = [], []
    for item in files or []:
        name, content = (item.name, item.content) if isinstance(item, SourceFile) else tuple(item)
        content = content.encode("utf-8") if isinstance(content, str) else content
        if not isinstance(name, str) or not isinstance(content, bytes):
            raise DeployError([f"{name!r}:1: a file must have a text name and bytes content"])
        if any(source.name == name for source in sources):
            problems.append(f"{name}:1: the file is in the deployment twice")
        sources.append(SourceFile(name, content))
    if not sources:
        problems.append("deployment:1: no files to deploy")
    if problems:
        raise DeployError(problems)
    return sources


def _load(sources: list[SourceFile], deployed: DeployedDefinitions | None) -> Bundle:
    documents = [_Document(source) for source in sources]
    for document in documents:
        _guarded(document, _check_document)
    bpmn = [d for d in documents if d.kind == "bpmn"]
    dmn = [d for d in documents if d.kind == "dmn"]
    processes = _index_processes(bpmn)
    decisions = _index_decisions(dmn)
    forms = _index_forms([d for d in documents if d.kind == "form"])
    external = _check_references(bpmn, processes, decisions, deployed)
    _check_form_refs(bpmn, forms)
    bundles = {pid: _bundle(pid, processes, decisions, external) for pid in processes}
    for bundle in bundles.values():
        bundle.forms = _forms_of(bundle, forms)
    for pid, bundle in bundles.items():
        if not any(d.findings.errors for d in _documents_of(bundle, documents)):
            _guarded(processes[pid][0], lambda document, b=bundle: _parse(document, b))
    unused_dmn = _warn_unused_decisions(dmn, bundles)
    _warn_unused_forms([d for d in documents if d.kind == "form"], bundles)
    errors = _unique(error for document in documents for error in document.findings.errors)
    warnings = _unique(warning for document in documents for warning in document.findings.warnings)
    if errors:
        raise DeployError(errors, warnings)
    translations = _unique(note for document in documents for note in document.findings.translations)
    return Bundle(processes=bundles, warnings=warnings, translations=translations,
                  constructs={d.source.name: d.constructs for d in bpmn}, unused_dmn=unused_dmn)


def _guarded(document: _Document, check) -> None:
    """Run one check of one file; a crash becomes a problem naming the file, never a traceback."""
    try:
        check(document)
    except Exception as error:
        log.exception("checking %s crashed", document.source.name)
        document.findings.error(document.source.name, 1, f"internal error while checking this file "
                                f"({type(error).__name__}: {error}); please report it")


def _check_document(document: _Document) -> None:
    name = document.source.name
    if is_form(name):
        document.kind = "form"
        document.form = read_form(document.source, document.findings)
        return
    try:
        root = document.root = read_xml(document.source.content)
    except UnreadableXml as error:
        document.findings.error(name, error.line, error.message)
        return
    qname = etree.QName(root)
    if qname.namespace == BPMN_NS and qname.localname == "definitions":
        document.kind = "bpmn"
        check_bpmn_schema(name, root, document.findings)
        normalise_bpmn(name, root, document.findings)
        document.constructs = inventory(root)
        document.facts = check_bpmn(name, root, document.findings)
        translate_bpmn(name, root, document.findings)
        check_model(name, root, document.findings)
    elif qname.namespace in DMN_NAMESPACES and qname.localname == "definitions":
        document.kind = "dmn"
        document.decisions = check_dmn(name, root, document.findings)
    else:
        document.findings.error(name, root, _not_bpmn_or_dmn(qname))


def _not_bpmn_or_dmn(qname: etree.QName) -> str:
    found = f"<{qname.localname}>" + (f" in namespace {qname.namespace}" if qname.namespace else "")
    if qname.localname == "definitions" and "DMN" in (qname.namespace or ""):
        return f"unsupported DMN version: the root element is {found}; save it as DMN 1.3"
    return (f"not a BPMN or DMN file: the root element is {found}, expected bpmn:definitions "
            "(BPMN 2.0) or DMN 1.1-1.3 definitions")


def _index_processes(documents: list[_Document]) -> dict[str, tuple[_Document, etree._Element]]:
    processes: dict[str, tuple[_Document, etree._Element]] = {}
    for document in documents:
        for pid, element in document.facts.processes.items():
            if pid in processes:
                other = processes[pid][0].source.name
                document.findings.error(document.source.name, element, f'process id "{pid}" is also '
                                        f"defined in {other}: process ids must be unique")
            else:
                processes[pid] = (document, element)
    return processes


def _index_forms(documents: list[_Document]) -> dict[str, CamundaForm]:
    forms: dict[str, CamundaForm] = {}
    for document in documents:
        form = document.form
        if form is None:
            continue
        if form.form_id in forms:
            document.findings.error(document.source.name, 1, f'form id "{form.form_id}" is also the id of '
                                    f"{forms[form.form_id].source.name}: form ids must be unique")
        else:
            forms[form.form_id] = form
    return forms


def _check_form_refs(documents: list[_Document], forms: dict[str, CamundaForm]) -> None:
    """`camunda:formRef` on a user task: the deployment's form of that id, as Camunda 7 binds it."""
    for document in documents:
        name = document.source.name
        for task, ref in document.facts.form_refs:
            binding = (task.get(f"{{{CAMUNDA_NS}}}formRefBinding") or "latest").strip()
            if binding not in ("latest", "deployment"):
                document.findings.error(name, task, f'{describe(task)} camunda:formRefBinding="{binding}" is not '
                                        "supported (forms are versioned with the processes that use them): "
                                        "remove it and deploy the .form file together with this process")
            elif ref in forms:
                document.findings.translated(name, task, f'{describe(task)} shows Camunda Form "{ref}" of '
                                             f"{forms[ref].source.name}")
            else:
                document.findings.warn(name, task, f'{describe(task)} camunda:formRef="{ref}" (Camunda Forms) '
                                       "is not in this deployment: ignored; the form is built from "
                                       "camunda:formData (deploy the .form file with the diagram to use it)")


def _forms_of(bundle: ProcessBundle, forms: dict[str, CamundaForm]) -> list[SourceFile]:
    """The .form files the bundle's user tasks name (its callees' too: their specs are rebuilt)."""
    refs = {(task.get(f"{{{CAMUNDA_NS}}}formRef") or "").strip()
            for source in (bundle.bpmn, *bundle.callees)
            for task in read_xml(source.content).iter(f"{{{BPMN_NS}}}userTask")}
    return [forms[ref].source for ref in sorted(refs & set(forms))]


def _index_decisions(documents: list[_Document]) -> dict[str, _Document]:
    decisions: dict[str, _Document] = {}
    for document in documents:
        for decision in document.decisions:
            if decision in decisions:
                document.findings.error(document.source.name, document.root, f'decision id "{decision}" '
                                        f"is also defined in {decisions[decision].source.name}")
            else:
                decisions[decision] = document
    return decisions


@dataclass
class _External:
    """References resolved against what was deployed before this deployment."""

    processes: dict[str, EarlierVersion] = field(default_factory=dict)
    decisions: dict[str, DecisionVersion] = field(default_factory=dict)  # what each decisionRef resolved to


_BINDINGS = ("latest", "deployment", "version", "versionTag")


def _check_references(documents: list[_Document], processes: dict, decisions: dict,
                      deployed: DeployedDefinitions | None) -> _External:
    external = _External()
    non_executable = {pid for d in documents for pid in d.facts.non_executable}
    local_calls: set[str] = set()
    for document in documents:
        name = document.source.name
        for task, called in document.facts.calls:
            problem = _resolve_call(task, called, processes, non_executable, deployed, external, local_calls)
            if problem:
                document.findings.error(name, task, f'{describe(task)} calls process "{called}"{problem}')
            elif called in external.processes:
                document.findings.translated(name, task, f'{describe(task)} calls process "{called}" '
                                             f"v{external.processes[called].version}, deployed earlier")
        for task, decision in document.facts.decisions:
            _resolve_decision(document, task, decision, decisions, deployed, external)
    for called in local_calls & set(external.processes):
        document, element = processes[called]
        document.findings.error(document.source.name, element, f'process "{called}" is called both as '
                                "deployed now and as an earlier version: one case cannot hold two versions "
                                "of a process; make the call activities' calledElementBinding agree")
    return external


def _resolve_call(task: etree._Element, called: str, processes: dict, non_executable: set[str],
                  deployed: DeployedDefinitions | None, external: _External, local_calls: set[str]) -> str | None:
    """None when the call is satisfied (recorded in `local_calls` or `external`), else what is wrong."""
    binding = (task.get(f"{{{CAMUNDA_NS}}}calledElementBinding") or "latest").strip()
    version = (task.get(f"{{{CAMUNDA_NS}}}calledElementVersion") or "").strip() or None
    tag = (task.get(f"{{{CAMUNDA_NS}}}calledElementVersionTag") or "").strip() or None
    problem = _binding_problem("calledElement", binding, version, tag)
    if problem:
        return problem
    here = called in processes and (binding in ("latest", "deployment") or binding == "versionTag" and (
        processes[called][1].get(f"{{{CAMUNDA_NS}}}versionTag") or "").strip() == tag)
    if here:
        local_calls.add(called)
        return None
    if called in non_executable and called not in processes:
        return ', which has isExecutable="false"'
    if binding == "deployment":
        return (', which is not in this deployment (calledElementBinding="deployment"): deploy its file '
                "together with this one")
    found = deployed.process(called, binding, version, tag) if deployed is not None else (
        ", which is not in this deployment: deploy its file too")
    if isinstance(found, str):
        return found
    earlier = external.processes.setdefault(called, found)
    if earlier.version != found.version:
        return (f": v{found.version} is asked for, but another call activity calls v{earlier.version}; "
                "one case cannot hold two versions of a process")
    return None


def _resolve_decision(document: _Document, task: etree._Element, decision: str, decisions: dict,
                      deployed: DeployedDefinitions | None, external: _External) -> None:
    """Pick the decision version `camunda:decisionRefBinding` names (Camunda's four bindings);
    the choice is recorded in `external.decisions` for the process bundles."""
    name = document.source.name
    binding = (task.get(f"{{{CAMUNDA_NS}}}decisionRefBinding") or "latest").strip()
    version = (task.get(f"{{{CAMUNDA_NS}}}decisionRefVersion") or "").strip() or None
    tag = (task.get(f"{{{CAMUNDA_NS}}}decisionRefVersionTag") or "").strip() or None
    local = decisions[decision].source if decision in decisions else None
    versions = deployed.decision_versions(decision) if deployed is not None else []
    chosen = _binding_problem("decisionRef", binding, version, tag) or _chosen_decision(
        decision, binding, version, tag, local, versions)
    if isinstance(chosen, str):
        document.findings.error(name, task, f'{describe(task)} needs DMN decision "{decision}"{chosen}')
        return
    earlier = external.decisions.setdefault(decision, chosen)
    if earlier.source.content != chosen.source.content:
        document.findings.error(name, task, f'{describe(task)} needs DMN decision "{decision}" v{chosen.version}, '
                                f"but another business rule task uses v{earlier.version}: one case cannot hold "
                                "two versions of a decision; make the tasks' decisionRefBinding agree")
    elif chosen.source is not local:
        document.findings.translated(name, task, f'{describe(task)} uses decision "{decision}" v{chosen.version} '
                                     f"from {chosen.source.name}, deployed earlier")


def _binding_problem(attribute: str, binding: str, version: str | None, tag: str | None) -> str | None:
    """What is wrong with a `camunda:…Binding` and its version attributes, or None."""
    if binding not in _BINDINGS:
        return f': {attribute}Binding="{binding}" is none of {", ".join(_BINDINGS)}'
    if binding == "version" and whole_number(version, most=MAX_ID) is None:
        return f': {attribute}Binding="version" needs camunda:{attribute}Version as a number (got "{version or ""}")'
    if binding == "versionTag" and not tag:
        return f': {attribute}Binding="versionTag" needs camunda:{attribute}VersionTag'
    return None


def _chosen_decision(decision: str, binding: str, version: str | None, tag: str | None,
                     local: SourceFile | None, versions: list[DecisionVersion]) -> DecisionVersion | str:
    """The version a binding selects — this deployment's file counts as the next version when its
    content is new, as Camunda numbers it — or why there is none (", which …")."""
    mine = next((v for v in versions if local is not None and v.source.content == local.content), None)
    if local is not None:
        mine = DecisionVersion(decision, mine.version if mine else len(versions) + 1, local,
                               decision_heads(local.content.decode("utf-8", "replace"))[decision].version_tag)
        versions = [*(v for v in versions if v.version != mine.version), mine]
    deployed = ", ".join(f"v{v.version}" + (f' (versionTag "{v.version_tag}")' if v.version_tag else "")
                         for v in versions) or "none"
    if binding == "deployment":
        return mine or (', which is not in this deployment (decisionRefBinding="deployment"): deploy its DMN '
                        "file together with this process")
    if binding == "latest":
        return mine or (versions[-1] if versions else ", which is not in this deployment nor deployed earlier")
    if binding == "version":
        number = whole_number(version, most=MAX_ID)
        found = [v for v in versions if v.version == number]
        return found[0] if found else f", but no deployed version of it is v{number} (deployed: {deployed})"
    found = [v for v in versions if v.version_tag == tag]
    if len(found) > 1:
        return (f', but versions {", ".join(f"v{v.version}" for v in found)} all have versionTag "{tag}" '
                "(Camunda refuses this too): give each version its own tag")
    return found[0] if found else f', but no deployed version of it has versionTag "{tag}" (deployed: {deployed})'


def _process_of(element: etree._Element) -> str | None:
    for ancestor in element.iterancestors(f"{{{BPMN_NS}}}process"):
        return ancestor.get("id")
    return None


def _bundle(pid: str, processes: dict, decisions: dict, external: _External) -> ProcessBundle:
    document, element = processes[pid]
    reached = _called_closure(pid, processes, external)
    callees: dict[str, SourceFile] = {}
    dmn: dict[str, SourceFile] = {}
    for called in reached:
        if called in external.processes:
            earlier = external.processes[called].bundle
            for source in (earlier.bpmn, *earlier.callees):
                _add(callees, source)
            for source in earlier.dmn:
                _add(dmn, source)
        elif called in processes:
            _add(callees, processes[called][0].source)
    for called in reached:
        if called in processes and called not in external.processes:
            for task, decision in processes[called][0].facts.decisions:
                if _process_of(task) != called:
                    continue
                source = external.decisions[decision].source if decision in external.decisions else None
                if source is not None:
                    _add(dmn, source)
    callees.pop(document.source.name, None)
    return ProcessBundle(
        process_id=pid,
        name=element.get("name"),
        bpmn=document.source,
        dmn=[dmn[name] for name in sorted(dmn)],
        callees=[callees[name] for name in sorted(callees) if callees[name] != document.source],
        start_groups=split_names(element.get(f"{{{CAMUNDA_NS}}}candidateStarterGroups")),
        timer_start=_timer_start(element),
    )


def _add(files: dict[str, SourceFile], source: SourceFile) -> None:
    """Keep one file per name; an earlier version of a file of this deployment gets its own name."""
    name = source.name
    while name in files and files[name].content != source.content:
        name += " (deployed earlier)"
    files[name] = SourceFile(name, source.content)


def _called_closure(pid: str, processes: dict, external: _External) -> list[str]:
    """Processes the call activities reach from `pid`; an earlier version brings its own callees."""
    reached, pending = [pid], [pid]
    while pending:
        current = pending.pop()
        if current not in processes or current in external.processes:
            continue
        for task, called in processes[current][0].facts.calls:
            if _process_of(task) == current and called not in reached:
                reached.append(called)
                pending.append(called)
    return reached


def _timer_start(process: etree._Element) -> str | None:
    for start in process.findall(f"{{{BPMN_NS}}}startEvent"):
        timer = start.find(f"{{{BPMN_NS}}}timerEventDefinition")
        if timer is not None:
            for child in timer:
                if isinstance(child.tag, str) and (child.text or "").strip():
                    return child.text.strip()
    return None


def _documents_of(bundle: ProcessBundle, documents: list[_Document]) -> list[_Document]:
    names = {bundle.bpmn.name, *(f.name for f in bundle.callees), *(f.name for f in bundle.dmn),
             *(f.name for f in bundle.forms)}
    return [d for d in documents if d.source.name in names]


def _parse(document: _Document, bundle: ProcessBundle) -> None:
    try:
        spec, subprocess_specs = parse_specs(bundle)
    except DeployError as error:
        document.findings.errors.extend(error.problems)
        return
    _check_forms(document, [spec, *subprocess_specs.values()])
    bundle.start_form = start_form(spec)


def _check_forms(document: _Document, specs: list[BpmnProcessSpec]) -> None:
    """Forms a clerk could not submit (a validator that cannot run, a bad default) are refused now,
    not when a case first reaches them."""
    for spec in specs:
        if spec.file != document.source.name:
            continue  # a callee's forms are checked when its own file is deployed
        for task_spec in spec.task_specs.values():
            try:
                forms.fields_from_form(getattr(task_spec, "form", None))
            except DeployError as error:
                found = document.root.xpath("//*[@id=$id]", id=task_spec.bpmn_id)
                where = found[0] if found else document.root
                for problem in error.problems:
                    document.findings.error(document.source.name, where, f"{describe(where)} form: {problem}")


def start_form(spec: BpmnProcessSpec) -> Form | None:
    """The process's start form (`camunda:formData` on its start event), or None without one."""
    for task_spec in spec.task_specs.values():
        if isinstance(task_spec, StartEvent) and getattr(task_spec, "form", None) is not None:
            return task_spec.form
    return None


def _warn_unused_decisions(documents: list[_Document], bundles: dict[str, ProcessBundle]) -> dict[SourceFile, str]:
    used = {f.name for bundle in bundles.values() for f in bundle.dmn}
    unused = {}
    for document in documents:
        if document.source.name not in used and not document.findings.errors:
            document.findings.warn(document.source.name, document.root, "no process of this deployment "
                                   "uses a decision of this file, nor one deployed earlier with "
                                   "decisionRefBinding latest: it is not deployed")
            unused[document.source] = document.findings.warnings[-1]
    return unused


def _warn_unused_forms(documents: list[_Document], bundles: dict[str, ProcessBundle]) -> None:
    used = {f.name for bundle in bundles.values() for f in bundle.forms}
    for document in documents:
        if document.source.name not in used and not document.findings.errors:
            document.findings.warn(document.source.name, 1, "no user task of this deployment names this form "
                                   "(camunda:formRef): it is not deployed")


def parse_specs(bundle: ProcessBundle) -> tuple[BpmnProcessSpec, dict]:
    """(spec, subprocess_specs) for `BpmnWorkflow`, rebuilt from the deployed sources.

    Deterministic: the same bundle always gives equal specs, so callers may cache per version.
    """
    roots: dict[str, etree._Element] = {}
    parser = build_parser()
    current = bundle.bpmn.name
    forms = {form.form_id: form for form in (read_form(f, Findings()) for f in bundle.forms) if form}
    try:
        for source in (bundle.bpmn, *bundle.callees):
            current = source.name
            root = roots[current] = read_xml(source.content)
            attach_forms(root, forms)
            normalise_bpmn(current, root, Findings())
            translate_bpmn(current, root, Findings())
            parser.add_bpmn_xml(root, filename=current)
        for source in bundle.dmn:
            current = source.name
            roots[current] = read_xml(source.content)
            parser.add_dmn_xml(roots[current], filename=current)
        current = bundle.bpmn.name
        return parser.get_spec(bundle.process_id), parser.get_subprocess_specs(bundle.process_id)
    except ValidationException as error:
        raise DeployError([_from_validation(error, roots, current)]) from None
    except UnreadableXml as error:
        raise DeployError([f"{current}:{error.line}: {error.message}"]) from None
    except Exception as error:  # SpiffWorkflow has crashes of its own (KeyError, TypeError, …)
        log.exception("SpiffWorkflow failed on %s", current)
        raise DeployError([f"{current}:1: SpiffWorkflow cannot parse this file "
                           f"({type(error).__name__}: {error})"]) from None


def _from_validation(error: ValidationException, roots: dict[str, etree._Element], default: str) -> str:
    """A SpiffWorkflow ValidationException as `FILE:LINE: element "id": message`."""
    file = error.file_name or default
    line = error.line_number if isinstance(error.line_number, int) and error.line_number > 0 else None
    if error.id and line is None:
        for name in sorted(roots, key=lambda n: n != file):
            found = roots[name].xpath("//*[@id=$id]", id=error.id)
            if found:
                file, line = name, found[0].sourceline
                break
    tag = etree.QName(error.tag).localname if error.tag.startswith("{") else error.tag.removeprefix("bpmn:")
    subject = f'{tag} "{error.id}": ' if error.id else ""
    message = " ".join([str(error.args[0]) if error.args else "", *error.notes]).strip()
    hint = next((text for start, text in _HINTS.items() if message.startswith(start)), "")
    return f"{file}:{line or 1}: {subject}SpiffWorkflow rejects it: {message}{hint}"


#: SpiffWorkflow messages that need a word of explanation for an analyst.
_HINTS = {
    "Multiple outgoing flows are not supported": " (several outgoing sequence flows need a gateway to "
                                                 "split the flow)",
}


class DecisionHead(NamedTuple):
    name: str | None
    version_tag: str | None  # camunda:versionTag


@functools.lru_cache(maxsize=512)
def decision_heads(content: str) -> dict[str, DecisionHead]:
    """The decisions a stored DMN file defines, by id, with name and `camunda:versionTag`; nothing
    for a file that does not read. (Cached: stored files never change, and every deploy reads them.)"""
    try:
        decisions = decisions_of(read_xml(content.encode("utf-8")))
    except UnreadableXml:
        return {}
    return {d.get("id"): DecisionHead(d.get("name"), (d.get(f"{{{CAMUNDA_DMN_NS}}}versionTag") or "").strip() or None)
            for d in decisions}


def latest_decision_refs(bundle: ProcessBundle) -> set[str]:
    """The decisions the process's own business rule tasks use with decisionRefBinding latest."""
    try:
        root = read_xml(bundle.bpmn.content)
    except UnreadableXml:
        return set()
    return {(task.get(f"{{{CAMUNDA_NS}}}decisionRef") or "").strip()
            for task in root.iter(f"{{{BPMN_NS}}}businessRuleTask")
            if _process_of(task) == bundle.process_id
            and (task.get(f"{{{CAMUNDA_NS}}}decisionRefBinding") or "latest").strip() == "latest"}


def version_tag(bundle: ProcessBundle) -> str | None:
    """`camunda:versionTag` of a deployed process, as its stored file says."""
    try:
        root = read_xml(bundle.bpmn.content)
    except UnreadableXml:
        return None
    for process in root.findall(f"{{{BPMN_NS}}}process"):
        if process.get("id") == bundle.process_id:
            return (process.get(f"{{{CAMUNDA_NS}}}versionTag") or "").strip() or None
    return None


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))
