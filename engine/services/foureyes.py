"""Four eyes in the service layer: the checking task's guard every road to it passes, and the
record of a refusal.

``guard`` reads what the diagram says the task checks (the deployed spec) and who had a part in
those steps (the case's events), and asks ``access.require_four_eyes``. A refusal rolls the unit
of work back like any refusal; ``recording_refusals`` then writes a ``four_eyes_refused`` event in
a short unit of work of its own, so the case's history shows who tried, which task, and which
earlier step stood in the way.
"""
from __future__ import annotations

import functools
from typing import Any, Callable, TypeVar

from sqlalchemy import Row, bindparam, or_, select
from sqlalchemy.orm import Session

from engine import runtime
from engine.foureyes import PART_EVENTS, Deed, checks_of, deeds_in
from engine.history import chain_of, record
from engine.services import access
from engine.services.access import Actor
from engine.services.steps import INSTANCES, touch_instance
from engine.store import Database, Event
from engine.store.prepared import Prepared

T = TypeVar("T")
REFUSED = "four_eyes_refused"

_PARTS = Prepared(select(Event.type, Event.actor, Event.task_id, Event.element_id, Event.payload, Event.seq)
                  .where(Event.chain == bindparam("chain"), or_(*(Event.type == kind for kind in PART_EVENTS)))
                  .order_by(Event.seq))
_DEFINITION = Prepared(select(INSTANCES.c.definition_id).where(INSTANCES.c.id == bindparam("id")))


def checked_steps(db: Database, session: Session, row: Row) -> tuple[str, ...]:
    """The element ids the task of ``row`` (a human_task row) checks; none for most tasks."""
    definition_id = getattr(row, "case_definition_id", None) or _DEFINITION.first(session, id=row.instance_id)[0]
    return checks_of(runtime.deployed(db, session, definition_id).specs).get(row.element_id, ())


def deeds_for(db: Database, session: Session, row: Row) -> list[Deed]:
    """Every part people had so far in the steps the task of ``row`` checks (empty: no check)."""
    checked = checked_steps(db, session, row)
    if not checked:
        return []
    return deeds_in(_PARTS.all(session, chain=chain_of(row.instance_id)), checked)


def guard(db: Database, session: Session, actor: Actor, person: str, row: Row, action: str) -> list[Deed]:
    """Refuse the checking task of ``row`` to ``person`` (who would claim, complete, be delegated
    or assigned it: ``action``) if they had a part in a step it checks; the deeds it checks."""
    deeds = deeds_for(db, session, row)
    access.require_four_eyes(actor, person, row, action, deeds)
    return deeds


def recording_refusals(func: Callable[..., T]) -> Callable[..., T]:
    """A service ``(db, task_id, actor, …)`` whose four-eyes refusal is recorded in the case."""

    @functools.wraps(func)
    def wrapper(db: Database, task_id: str, actor: Actor, *args: Any, **kwargs: Any) -> T:
        try:
            return func(db, task_id, actor, *args, **kwargs)
        except access.FourEyesRefused as refusal:
            _record_refusal(db, actor, refusal)
            raise

    return wrapper


def _record_refusal(db: Database, actor: Actor, refusal: access.FourEyesRefused) -> None:
    task = refusal.task
    with db.unit_of_work() as session:
        record(session, REFUSED, actor.name, instance_id=task.instance_id, task_id=task.id,
               element_id=task.element_id, payload={
                   "name": task.name, "action": refusal.action, "person": refusal.person,
                   "checked": [d.as_payload() for d in refusal.deeds], "reason": str(refusal)})
        touch_instance(session, task.instance_id)
