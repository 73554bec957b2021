"""What a person at the desk does next: the open task of a case they can work on right now.

After starting a case or completing a step, staff should land on the next form when it is theirs
instead of walking back through the inbox: the counter classifies and dispatches a complaint in
one go. "Theirs" is ``access.may_act_on``: assigned to them, or unclaimed and offered to them or
to one of their groups (submitting it claims it).
"""
from __future__ import annotations

from sqlalchemy import select

from engine.services import access
from engine.services.access import Actor
from engine.services.work import TaskItem, _item
from engine.store import Database, HumanTask


def next_task_for(db: Database, instance_id: int, actor: Actor) -> TaskItem | None:
    """The case's open task ``actor`` may submit now (their own first, then their groups'), or
    ``None`` when the next step is someone else's."""
    with db.unit_of_work(read_only=True) as session:
        rows = session.scalars(select(HumanTask).where(HumanTask.instance_id == instance_id,
                                                       HumanTask.state == "open")
                               .order_by(HumanTask.created_at, HumanTask.id))
        tasks = [_item(row) for row in rows]
    mine = [t for t in tasks if t.assignee == actor.name]
    offered = [t for t in tasks if access.may_claim(actor, t)]
    return (mine + offered)[0] if mine or offered else None
