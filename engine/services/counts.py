"""How much work waits for a person, for the inbox tabs: 我的 / 组内 / 已超时 / 今日到期.

Every inbox page view shows these, so each count is read from the inbox indexes alone (the
assignee index for "mine", the candidate index for the groups' queues, both ordered by due time)
and stops at :data:`~engine.services.work.COUNT_CAP` tasks: a tab says "500+" instead of reading a
queue of 100,000 on every view. The look-ups are chained (UNION ALL) so the read stops after the
cap's rows; a task offered to two of one's groups counts once below the cap (above it, such
doubles may bring "500+" early).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, bindparam, distinct, func, select, union_all

from engine import clock
from engine.services.steps import CANDIDATES, TASKS
from engine.services.access import Actor
from engine.services.work import COUNT_CAP
from engine.store import Database
from engine.store.prepared import Prepared


@dataclass(frozen=True)
class Count:
    value: int
    more: bool  # there are more than ``value``

    def __str__(self) -> str:
        return f"{self.value}+" if self.more else str(self.value)


@dataclass(frozen=True)
class TabCounts:
    mine: Count
    group: Count
    overdue: Count
    due_today: Count


def _arms(kind: str, groups: int, bounded: bool) -> list[Any]:
    """Index range reads of one tab, each stopping after ``cap`` rows."""
    cap = bindparam("cap", type_=Integer)
    due = bindparam("due_before")
    mine = select(TASKS.c.id.label("id")).where(TASKS.c.assignee == bindparam("user"), TASKS.c.state == "open")
    offers = [select(CANDIDATES.c.task_id.label("id")).where(CANDIDATES.c.kind == "group",
                                                            CANDIDATES.c.name == bindparam(f"g{i}"))
              for i in range(groups)]
    offers.append(select(CANDIDATES.c.task_id.label("id")).where(CANDIDATES.c.kind == "user",
                                                                CANDIDATES.c.name == bindparam("user")))
    if bounded:
        mine = mine.where(TASKS.c.due_at < due)
        offers = [arm.where(CANDIDATES.c.due_order < due) for arm in offers]
    chosen = {"mine": [mine], "group": offers, "due": [mine, *offers]}[kind]
    return [select(arm.limit(cap).subquery()) for arm in chosen]


@functools.lru_cache(maxsize=256)
def _count(kind: str, groups: int, bounded: bool) -> Prepared:
    """(rows read up to the cap, distinct tasks among them)."""
    arms = _arms(kind, groups, bounded)
    ids = (arms[0] if len(arms) == 1 else union_all(*arms)).subquery()
    limited = select(ids.c.id).limit(bindparam("cap", type_=Integer)).subquery()
    return Prepared(select(func.count(), func.count(distinct(limited.c.id))).select_from(limited))


def tab_counts(db: Database, actor: Actor) -> TabCounts:
    """The four counts of ``actor``'s inbox tabs, each up to COUNT_CAP ("500+" beyond)."""
    now = clock.now()
    end_of_day = now.astimezone(clock.local_tz()).replace(hour=23, minute=59, second=59, microsecond=999999)
    groups = sorted(actor.groups)
    with db.unit_of_work(read_only=True) as session:
        params = {"user": actor.name, "cap": COUNT_CAP + 1, **{f"g{i}": name for i, name in enumerate(groups)}}

        def count(kind: str, due_before: datetime | None = None) -> Count:
            bounded = due_before is not None
            rows, tasks = _count(kind, len(groups), bounded).first(
                session, **params, **({"due_before": due_before} if bounded else {}))
            return Count(COUNT_CAP, True) if rows > COUNT_CAP else Count(tasks, False)

        return TabCounts(mine=count("mine"), group=count("group"), overdue=count("due", now),
                         due_today=count("due", end_of_day))
