"""Message start names are unique across processes, as Camunda requires at deploy.

Camunda refuses a deployment whose message start event listens for a message that a different
deployed process (or another start event of the same process) already starts with: a message
could not say which process to start. Checked against the newest version of every other process.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import catching, compat, runtime
from engine.compat.xmlsafe import read_xml
from engine.errors import DeployError
from engine.store import Database, DefinitionVersion

LATEST = select(func.max(DefinitionVersion.id)).group_by(DefinitionVersion.process_id)


def latest_ids(session: Session) -> list[int]:
    """The id of the newest version of every deployed process."""
    return list(session.scalars(LATEST.order_by(func.max(DefinitionVersion.id))))


def check_unique(db: Database, session: Session, bundle: compat.Bundle) -> None:
    taken: dict[str, str] = {}
    for definition_id in latest_ids(session):
        deployed = runtime.deployed(db, session, definition_id)
        if deployed.process_id not in bundle.processes:
            for start in catching.start_events(deployed.specs[0], catching.MESSAGE):
                taken.setdefault(start.event_definition.name, f'process "{deployed.process_id}" (deployed)')
    problems = []
    for process_id in sorted(bundle.processes):
        process = bundle.processes[process_id]
        for start in catching.start_events(compat.parse_specs(process)[0], catching.MESSAGE):
            name = start.event_definition.name
            other = taken.setdefault(name, f'start event "{start.bpmn_id}" of process "{process_id}"')
            if not other.startswith(f'start event "{start.bpmn_id}" of'):
                problems.append(f"{process.bpmn.name}:{_line(process, start)}: message start event "
                                f'"{start.bpmn_id}" listens for message "{name}", which {other} starts with too: '
                                "message start names must be unique (Camunda refuses this too); rename one message")
    if problems:
        raise DeployError(problems)


def _line(process: compat.ProcessBundle, start: Any) -> int:
    found = read_xml(process.bpmn.content).xpath("//*[@id=$id]", id=start.bpmn_id)
    return found[0].sourceline if found else 1
