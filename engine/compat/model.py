"""What a deployment hands on: the sources each process needs, and what the scheduler must know."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Protocol

from SpiffWorkflow.camunda.specs.user_task import Form


@dataclass(frozen=True)
class SourceFile:
    name: str  # as shown in messages, e.g. "processes/complaint.bpmn"
    content: bytes


@dataclass
class ProcessBundle:
    """One executable process and every file it needs to be rebuilt exactly (see `parse_specs`)."""

    process_id: str
    name: str | None
    bpmn: SourceFile  # the file that defines the process
    dmn: list[SourceFile]  # DMN files its business rule tasks need (also those of callees)
    callees: list[SourceFile]  # other BPMN files its call activities need, transitively
    start_groups: list[str]  # camunda:candidateStarterGroups; [] = anyone may start it
    timer_start: str | None  # translated timer start expression (e.g. "'R/P1D'") for the scheduler
    #: The start event's `camunda:formData` as SpiffWorkflow's `Form` (the same object user tasks
    #: carry in `task_spec.form`; the start event spec carries it too), or None without a start form.
    start_form: Form | None = field(default=None, compare=False)
    forms: list[SourceFile] = field(default_factory=list)  # Camunda Forms (.form) its formRefs name

    def content_hash(self) -> str:
        """sha256 over every source's content; the order files were uploaded in does not matter.
        (Forms count only when there are some, so versions deployed before forms keep their hash.)"""
        digest = hashlib.sha256()
        parts = [self.bpmn.content, *sorted((f.content for f in self.callees), key=_sha),
                 b"--dmn--", *sorted((f.content for f in self.dmn), key=_sha)]
        if self.forms:
            parts += [b"--forms--", *sorted((f.content for f in self.forms), key=_sha)]
        for content in parts:
            digest.update(len(content).to_bytes(8, "big"))
            digest.update(content)
        return digest.hexdigest()


def _sha(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


@dataclass
class Bundle:
    processes: dict[str, ProcessBundle]
    warnings: list[str]  # each "FILE:LINE: what will be ignored and why"
    #: each "FILE:LINE: element, JUEL as written, the Python it runs as": for the analyst to check
    translations: list[str] = field(default_factory=list)
    #: per BPMN file, each construct it uses and what happens to it (see inventory.py)
    constructs: dict[str, list] = field(default_factory=dict)
    #: DMN files no process of the deployment uses, each with its warning (in `warnings`): the
    #: service layer deploys them with the processes deployed earlier that use their decisions
    unused_dmn: dict[SourceFile, str] = field(default_factory=dict)


@dataclass(frozen=True)
class EarlierVersion:
    """A process version deployed before, that a call activity of this deployment calls."""

    bundle: ProcessBundle
    version: int


@dataclass(frozen=True)
class DecisionVersion:
    """One version of a decision as Camunda numbers them: each deployment that changes the DMN file
    defining the decision makes the next version (v1, v2, …); `camunda:versionTag` on the decision."""

    decision_id: str
    version: int
    source: SourceFile
    version_tag: str | None


class DeployedDefinitions(Protocol):
    """What is already deployed, for references a deployment does not satisfy itself (a changed
    file deployed alone, as Camunda Modeler's Deploy button does)."""

    def process(self, process_id: str, binding: str, version: str | None,
                version_tag: str | None) -> EarlierVersion | str:
        """The version `camunda:calledElementBinding` selects, or why there is none (", which …")."""

    def decision_versions(self, decision_id: str) -> list[DecisionVersion]:
        """Every deployed version of the decision, v1 first ([] when it was never deployed)."""
