"""What a person at the desk does next: the open task of a case they can work on right now.

After starting a case or completing a step, staff should land on the next form when it is theirs
instead of walking back through the inbox: the counter classifies and dispatches a complaint in
one go. "Theirs" is ``access.may_act_on``: assigned to them, or unclaimed and offered to them or
to one of their groups (submitting it claims it) — but never a check of work they did (four eyes).
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.services import access, foureyes
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
        tasks = [_item(row) for row in rows if _not_their_own_check(db, session, actor, row)]
    mine = [t for t in tasks if t.assignee == actor.name]
    offered = [t for t in tasks if access.may_claim(actor, t)]
    return (mine + offered)[0] if mine or offered else None


def _not_their_own_check(db: Database, session: Session, actor: Actor, row: HumanTask) -> bool:
    """Not a check of a step ``actor`` had a part in: the doer goes on to the case, not to a form
    they would be refused."""
    deeds = foureyes.deeds_for(db, session, row)
    return access.four_eyes_refusal(actor, actor.name, row, "claim", deeds) is None
