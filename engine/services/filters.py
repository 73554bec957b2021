"""Saved inbox filters: a person names the view they keep coming back to (返修待认领, 今日到期的投诉…)
and finds it beside the tabs, with how many tasks it holds now.

A filter stores the fields of a :class:`~engine.services.work.TaskFilter` (never a query), so it is
checked again whenever it is used, and its count is the inbox's own count, capped as the tabs are.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import func, select

from engine import clock, limits
from engine.errors import InvalidInput, NotFound
from engine.services.access import Actor
from engine.services.work import SCOPES, SORTS, TaskFilter, count_tasks
from engine.store import Database, SavedFilter

MAX_NAME = 20  # characters of a filter's name: a label beside the tabs
KEPT = ("scope", "process_id", "overdue", "due_today", "search", "sort")


@dataclass(frozen=True)
class SavedView:
    id: int
    name: str
    filter: TaskFilter
    count: int
    more: bool  # more than ``count`` (the cap)


def _criteria(flt: TaskFilter) -> dict[str, Any]:
    """What is kept of a filter: what it selects and its order, not the page."""
    if flt.scope not in SCOPES or flt.sort not in SORTS:
        raise InvalidInput("这个筛选的范围或排序无效，不能保存。")
    return {key: value for key, value in asdict(flt).items() if key in KEPT}


def _require_person(actor: Actor) -> None:
    if actor.operator:
        raise InvalidInput("命令行操作员没有个人待办，不能保存筛选。")


def save_filter(db: Database, actor: Actor, name: str, flt: TaskFilter) -> int:
    """Keep ``flt`` under ``name`` for ``actor`` (a filter of that name is replaced); its id."""
    _require_person(actor)
    name = " ".join(name.split())
    if not name or len(name) > MAX_NAME:
        raise InvalidInput(f"请给筛选起一个名字（不超过 {MAX_NAME} 个字）。")
    criteria = _criteria(flt)
    with db.unit_of_work() as session:
        kept = session.scalars(select(SavedFilter).where(SavedFilter.user_name == actor.name,
                                                         SavedFilter.name == name)).first()
        if kept is None:
            cap = limits.number(limits.MAX_SAVED_FILTERS)
            held = session.scalar(select(func.count()).where(SavedFilter.user_name == actor.name))
            if held >= cap:
                raise InvalidInput(f"最多保存 {cap} 个筛选，请先删除不再使用的。")
            kept = SavedFilter(user_name=actor.name, name=name, criteria=criteria, created_at=clock.now())
            session.add(kept)
        else:
            kept.criteria = criteria
        session.flush()
        return kept.id


def saved_filters(db: Database, actor: Actor) -> list[SavedView]:
    """``actor``'s saved filters in the order they were made, each with its current count."""
    if actor.operator:
        return []
    with db.unit_of_work(read_only=True) as session:
        rows = [(f.id, f.name, dict(f.criteria)) for f in session.scalars(
            select(SavedFilter).where(SavedFilter.user_name == actor.name).order_by(SavedFilter.id))]
    views = []
    for filter_id, name, criteria in rows:
        flt = TaskFilter(**{key: value for key, value in criteria.items() if key in KEPT})
        views.append(SavedView(filter_id, name, flt, *count_tasks(db, actor, flt)))
    return views


def delete_filter(db: Database, actor: Actor, filter_id: int) -> str:
    """Remove one of ``actor``'s own filters; its name."""
    with db.unit_of_work() as session:
        kept = session.get(SavedFilter, filter_id)
        if kept is None or kept.user_name != actor.name:
            raise NotFound("没有这个筛选（可能已被删除）。")
        session.delete(kept)
        return kept.name
