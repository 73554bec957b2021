"""Four eyes at run time: who had a part in a case's checked steps, read from its event chain.

The diagram says which user task checks which (``fourEyes``, engine/compat/foureyes.py; the parser
keeps the ids on the checking task's spec). The history says who did the work: whoever a task was
given to (``task_ready`` with an assignee, claimed, assigned, delegated) or who completed it. The
service layer refuses a checking task to those people (``access.require_four_eyes``); the audit
lists every (doer, checker) pair from the same events, so a pair planted into the database is seen.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterable

#: Events that give a person a part in a task.
PART_EVENTS = ("task_ready", "task_claimed", "task_assigned", "task_delegated", "task_completed")
COMPLETED = "completed"
ASSIGNEE = "assignee"


@dataclass(frozen=True)
class Deed:
    """One person's part in one task of a case: ``completed`` it, or was its ``assignee``."""

    person: str
    part: str
    element_id: str
    task_id: str | None
    name: str | None
    seq: int

    def as_payload(self) -> dict[str, Any]:
        return {"person": self.person, "part": self.part, "element_id": self.element_id,
                "task_id": self.task_id, "name": self.name}


def deed_of(event: Any) -> Deed | None:
    """The part an event gives someone, if any (``event``: an Event row or a row of its columns)."""
    payload = event.payload or {}
    person = {"task_ready": payload.get("assignee"), "task_assigned": payload.get("to"),
              "task_delegated": payload.get("to")}.get(event.type, event.actor)
    if event.type not in PART_EVENTS or not person or not event.element_id:
        return None
    part = COMPLETED if event.type == "task_completed" else ASSIGNEE
    return Deed(person, part, event.element_id, event.task_id, payload.get("name"), event.seq)


def deeds_in(events: Iterable[Any], elements: Iterable[str], before_seq: int | None = None) -> list[Deed]:
    """The part each person had in each of these elements (every round of a loop taken together:
    ``completed`` if they ever completed it, else ``assignee``), from the events before
    ``before_seq`` (None: all), in the order people first took part."""
    wanted = set(elements)
    found: dict[tuple[str, str], Deed] = {}
    for event in events:
        deed = deed_of(event) if event.element_id in wanted else None
        if deed is None or (before_seq is not None and deed.seq >= before_seq):
            continue
        key = (deed.person, deed.element_id)
        if key not in found or deed.part == COMPLETED or found[key].part != COMPLETED:
            found[key] = deed
    return list(found.values())


def checks_of(specs: tuple[Any, dict[str, Any]]) -> dict[str, tuple[str, ...]]:
    """Checking element id → the element ids it checks, over a deployed version's specs."""
    spec, subprocess_specs = specs
    found: dict[str, tuple[str, ...]] = {}
    for one in (spec, *subprocess_specs.values()):
        for name, task_spec in one.task_specs.items():
            checked = ((getattr(task_spec, "extensions", None) or {}).get("camunda") or {}).get("fourEyes")
            if checked:
                found[name] = tuple(checked)
    return found


@dataclass(frozen=True)
class Pair:
    """A checked step and its check, in one case: who did it, who checked it, when."""

    instance_id: int
    process_id: str
    checked_element: str
    checked_name: str | None
    doer: str
    part: str
    checking_element: str
    checking_name: str | None
    checker: str
    at: datetime
    seq: int  # of the checking task's completion

    @property
    def violation(self) -> bool:
        return self.doer == self.checker


def pairs_of(instance_id: int, process_id: str, events: list[Any],
             checks: dict[str, tuple[str, ...]]) -> list[Pair]:
    """Each completed check of a case with each part someone had in its checked steps before it.

    ``events``: the case's events in order. One pair per (check, doer, checked step)."""
    pairs: list[Pair] = []
    for event in events:
        if event.type != "task_completed" or event.element_id not in checks:
            continue
        for deed in deeds_in(events, checks[event.element_id], before_seq=event.seq):
            pairs.append(Pair(instance_id, process_id, deed.element_id, deed.name, deed.person, deed.part,
                              event.element_id, (event.payload or {}).get("name"), event.actor, event.at,
                              event.seq))
    return pairs
