"""Groups: the candidate groups diagrams name, with the Chinese name staff read and who supervises
them. A person can only be put in a group that exists, so a typo ("enginering") is refused instead
of silently giving someone a queue nobody ever fills."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from engine.errors import InvalidInput
from engine.history import record
from engine.services import access
from engine.services.access import Actor
from engine.store import Database, WorkGroup
from engine.services.users import NAME_PATTERN, require_groups

MAX_DISPLAY_NAME = 50


@dataclass(frozen=True)
class GroupInfo:
    name: str
    display_name: str
    supervisor_groups: tuple[str, ...]


def _info(group: WorkGroup) -> GroupInfo:
    return GroupInfo(group.name, group.display_name, tuple(group.supervisor_groups or ()))


def list_groups(db: Database) -> list[GroupInfo]:
    with db.unit_of_work(read_only=True) as session:
        return [_info(g) for g in session.scalars(select(WorkGroup).order_by(WorkGroup.name))]


def group_names(db: Database) -> dict[str, str]:
    """Group id → Chinese name, for every page that names a group."""
    return {g.name: g.display_name for g in list_groups(db)}


def set_group(db: Database, name: str, display_name: str, supervisor_groups: list[str] | None = None,
              *, actor: Actor) -> GroupInfo:
    """Add a group or rename it; ``supervisor_groups`` (existing groups) replace its supervisors
    when given. Recorded in the system history."""
    access.require_admin(actor, "管理用户")
    name, display_name = name.strip(), display_name.strip()
    if not NAME_PATTERN.match(name):
        raise InvalidInput(f"组 id「{name}」不合法（只允许字母、数字、点、下划线和连字符）")
    if not display_name or len(display_name) > MAX_DISPLAY_NAME:
        raise InvalidInput(f"请填写组的中文名称（不超过 {MAX_DISPLAY_NAME} 个字）")
    with db.unit_of_work() as session:
        if supervisor_groups:
            require_groups(session, [g for g in supervisor_groups if g != name])
        group = session.get(WorkGroup, name)
        if group is None:
            group = WorkGroup(name=name, display_name=display_name,
                              supervisor_groups=list(supervisor_groups or ["cs-supervisor", "cs-manager"]))
            session.add(group)
        else:
            group.display_name = display_name
            if supervisor_groups is not None:
                group.supervisor_groups = list(dict.fromkeys(supervisor_groups))
        record(session, "group_set", actor.name, payload={"group": name, "display_name": display_name,
                                                     "supervisor_groups": list(group.supervisor_groups)})
        session.flush()
        return _info(group)
