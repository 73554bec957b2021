"""Human work: listing, claiming, delegating and completing user tasks.

Who may act is ``access``'s rule (the assignee; or, while nobody has claimed it, a member of a
candidate group or a candidate user). Listing reads only the indexed task tables, never a workflow.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any, Callable, Mapping

from sqlalchemy import Integer, Row, bindparam, distinct, exists, func, or_, select, union, union_all
from sqlalchemy.orm import Session
from SpiffWorkflow.util.task import TaskState

from engine import actions, clock, forms, limits, runtime
from engine.errors import Conflict, Forbidden, InvalidInput, NotFound
from engine.history import record
from engine.numbers import whole_number
from engine.services.steps import (
    INSTANCES,
    WITHDRAW_OFFERS,
    instance_record,
    CANDIDATES,
    TASKS,
    offer_to_candidates,
    open_case,
    running_diagram,
    save_case,
    touch_instance,
    translating_races,
)
from engine.services import access, foureyes
from engine.services.access import Actor
from engine.services.foureyes import recording_refusals
from engine.services.users import groups_of
from engine.store import NO_DUE_DATE, Database, HumanTask
from engine.store.prepared import Prepared

SCOPES = ("open", "mine", "group", "done", "all")
COUNT_CAP = 500  # an inbox counts its tasks up to here, then says "500+"
DUE_SOON = timedelta(hours=2)


@dataclass(frozen=True)
class TaskItem:
    """One row of an inbox."""

    id: str
    instance_id: int
    process_id: str
    process_name: str | None
    element_id: str
    name: str | None
    state: str
    candidate_groups: tuple[str, ...]
    candidate_users: tuple[str, ...]
    assignee: str | None
    owner: str | None
    priority: int | None
    created_at: datetime
    due_at: datetime | None
    follow_up_at: datetime | None
    escalated: bool
    completed_at: datetime | None
    completed_by: str | None
    customer_name: str | None
    phone: str | None
    room: str | None
    business_key: str | None = None

    @property
    def overdue(self) -> bool:
        return self.state == "open" and self.due_at is not None and self.due_at < clock.now()

    @property
    def due_soon(self) -> bool:
        return (self.state == "open" and self.due_at is not None
                and not self.overdue and self.due_at < clock.now() + DUE_SOON)


_ITEM_FIELDS = [f.name for f in fields(TaskItem)]


def _item(row: HumanTask | Row | Mapping[str, Any]) -> TaskItem:
    get = row.get if isinstance(row, Mapping) else functools.partial(getattr, row)
    values = {name: get(name) for name in _ITEM_FIELDS}
    values["candidate_groups"] = tuple(values["candidate_groups"] or ())
    values["candidate_users"] = tuple(values["candidate_users"] or ())
    return TaskItem(**values)


@dataclass(frozen=True)
class Completion:
    """What completing a task did: the case, and the tasks the step opened (what comes next)."""

    instance_id: int
    next_tasks: tuple[TaskItem, ...]


@dataclass(frozen=True)
class TaskPage:
    items: list[TaskItem]
    total: int  # all of them, or COUNT_CAP (or the tasks up to this page) when ``more``
    page: int
    per_page: int
    more: bool = False  # there are more than ``total``


@dataclass
class TaskFilter:
    """What an inbox asks for; every field is optional (whose inbox: the actor listing it)."""

    scope: str = "open"
    group: str | None = None
    instance_id: int | None = None
    process_id: str | None = None
    overdue: bool = False
    due_today: bool = False
    search: str | None = None
    sort: str = "due"
    page: int = 1
    per_page: int = 50


DUE_ORDER = func.coalesce(TASKS.c.due_at, NO_DUE_DATE)
#: The orders an inbox can be sorted in, each ending in the task id so pages never overlap:
#: soonest due (no due time last), soonest follow-up, highest priority (none given last), newest
#: first (as Camunda's Tasklist lists by default).
SORTS: dict[str, tuple[Any, ...]] = {
    "due": (DUE_ORDER, TASKS.c.created_at, TASKS.c.id),
    "follow_up": (func.coalesce(TASKS.c.follow_up_at, NO_DUE_DATE), DUE_ORDER, TASKS.c.id),
    "priority": (TASKS.c.priority.is_(None), TASKS.c.priority.desc(), DUE_ORDER, TASKS.c.id),
    "created": (TASKS.c.created_at.desc(), TASKS.c.id),
}


_KEYS = (TASKS.c.id, DUE_ORDER.label("due_order"), TASKS.c.created_at)
_OFFER_KEYS = (CANDIDATES.c.task_id.label("id"), CANDIDATES.c.due_order, CANDIDATES.c.created_at)
# (columns, conditions, order) of one index look-up
Arm = tuple[tuple[Any, ...], list[Any], tuple[Any, ...]]


def _arms(scope: str, group_matches: list[Any]) -> list[Arm]:
    """The index look-ups whose union is what a person's inbox may show, each with the order its
    index reads in.

    Unclaimed work comes from the candidate index alone (it carries the sort key), claimed and
    done work from the assignee/completed_by indexes. One's own tasks are two look-ups, with and
    without a due time: each then reads ``ix_task_assignee`` in its own order and stops at the
    page, where ``coalesce(due_at, …)`` would read and sort every task one holds.
    """
    user = bindparam("user")
    mine = [TASKS.c.assignee == user, TASKS.c.state == "open"]
    in_index = (TASKS.c.due_at, TASKS.c.created_at, TASKS.c.id)  # undated: due_at is the same NULL
    mine_dated = (_KEYS, [*mine, TASKS.c.due_at.is_not(None)], in_index)
    mine_undated = (_KEYS, [*mine, TASKS.c.due_at.is_(None)], in_index)
    offer_order = (CANDIDATES.c.due_order, CANDIDATES.c.created_at, CANDIDATES.c.task_id)
    offered = [(_OFFER_KEYS, [CANDIDATES.c.kind == "group", match], offer_order) for match in group_matches]
    offered.append((_OFFER_KEYS, [CANDIDATES.c.kind == "user", CANDIDATES.c.name == user], offer_order))
    done = (_KEYS, [TASKS.c.completed_by == user], (DUE_ORDER, TASKS.c.created_at, TASKS.c.id))
    return {"mine": [mine_dated, mine_undated], "group": offered, "open": [mine_dated, mine_undated, *offered],
            "done": [done], "all": [mine_dated, mine_undated, *offered, done]}[scope]


def _union(selects: list[Any], keep_duplicates: bool = False) -> Any:
    if len(selects) == 1:
        return selects[0].subquery()
    return (union_all if keep_duplicates else union)(*selects).subquery()


def _all_keys(scope: str, for_person: bool, groups: int, only_ids: bool = False) -> Any:
    """(id, due_order, created_at) of every task an inbox may show. ``only_ids``: just the ids,
    duplicates kept (a task offered to two of one's groups), for a count that can stop early."""
    if not for_person:
        state = {"open": [TASKS.c.state == "open"], "done": [TASKS.c.state == "completed"]}.get(scope, [])
        return select(*_KEYS[:1] if only_ids else _KEYS).where(*state).subquery()
    in_my_groups = CANDIDATES.c.name.in_([bindparam(f"g{i}") for i in range(groups)])
    return _union([select(*columns[:1] if only_ids else columns).where(*where)
                   for columns, where, _order in _arms(scope, [in_my_groups])], keep_duplicates=only_ids)


def _top_keys(scope: str, groups: int) -> Any:
    """The first ``depth`` keys of each look-up, read in index order, then merged.

    The page is among them, so a page costs the same whether a group has 5 or 5,000 tasks.
    """
    each_group = [CANDIDATES.c.name == bindparam(f"g{i}") for i in range(groups)]
    depth = bindparam("depth", type_=Integer)
    return _union([
        select(select(*columns).where(*where).order_by(*order).limit(depth).subquery())
        for columns, where, order in _arms(scope, each_group)])


def _page_queries(keys: Any, counted_ids: Any, conditions: list[Any], sort: str = "due") -> tuple[Any, Any]:
    """(rows of one page, (ids read up to ``cap``, distinct tasks among them)) over sort-key
    subqueries and row filters.

    The due order is read from the keys themselves; another order (or a filter) needs the rows.
    The count stops after ``cap`` ids: past a few hundred, "how many exactly" is not worth
    reading a whole group's queue on every page view (the inbox shows "500+"). The ids are
    counted as read, duplicates too (a task offered to two of one's groups), and told apart
    only among those: a DISTINCT before the cap would read every id first (PostgreSQL hashes
    them all), so the count would grow with the queue again.
    """
    chosen = select(keys.c.id)
    ids = select(counted_ids.c.id)
    if conditions or sort != "due":
        chosen = chosen.join(TASKS, TASKS.c.id == keys.c.id).where(*conditions)
    if conditions:
        ids = ids.join(TASKS, TASKS.c.id == counted_ids.c.id).where(*conditions)
    limited = ids.limit(bindparam("cap", type_=Integer)).subquery()
    counted = select(func.count(), func.count(distinct(limited.c.id))).select_from(limited)
    order = (keys.c.due_order, keys.c.created_at, keys.c.id) if sort == "due" else SORTS[sort]
    page_ids = chosen.order_by(*order).limit(bindparam("limit", type_=Integer)).offset(bindparam("offset", type_=Integer))
    rows = select(TASKS).where(TASKS.c.id.in_(page_ids)).order_by(*SORTS[sort])
    return rows, counted


# Filters that need the task row itself (a group's queue, case, procedure, due, search), each a
# condition with bound values, so a view's statements are built once per combination of filters.
_ROW_FILTERS: dict[str, Callable[[], list[Any]]] = {
    "group": lambda: [TASKS.c.id.in_(select(CANDIDATES.c.task_id).where(  # what the group may pick up
        CANDIDATES.c.kind == "group", CANDIDATES.c.name == bindparam("f_group")))],
    "instance": lambda: [TASKS.c.instance_id == bindparam("f_instance")],
    "process": lambda: [TASKS.c.process_id == bindparam("f_process")],
    "overdue": lambda: [TASKS.c.state == "open", TASKS.c.due_at < bindparam("f_now")],
    "due_today": lambda: [TASKS.c.state == "open", TASKS.c.due_at <= bindparam("f_end_of_day")],
    # a case number; digits: also a phone (prefix) or room (part); words: also the customer's name
    # (part) or any text of the case's data
    "search_case": lambda: [TASKS.c.instance_id == bindparam("f_number", type_=Integer)],
    "search_number": lambda: [or_(
        TASKS.c.instance_id == bindparam("f_number", type_=Integer),
        TASKS.c.phone.like(bindparam("f_prefix"), escape="\\"),
        TASKS.c.room.like(bindparam("f_part"), escape="\\"))],
    "search": lambda: [or_(
        TASKS.c.phone.like(bindparam("f_prefix"), escape="\\"),
        TASKS.c.customer_name.like(bindparam("f_part"), escape="\\"),
        TASKS.c.room.like(bindparam("f_part"), escape="\\"),
        exists().where(INSTANCES.c.id == TASKS.c.instance_id,
                       INSTANCES.c.state.like(bindparam("f_part"), escape="\\")))],
}


def _like_text(term: str) -> str:
    """``term`` for a LIKE pattern: its own %, _ and \\ match themselves."""
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _row_filters(flt: TaskFilter) -> tuple[tuple[str, ...], dict[str, Any]]:
    """The names of the row filters a view uses, and their values."""
    chosen: dict[str, Any] = {}
    now = clock.now()
    if flt.group:
        chosen["group"] = {"f_group": flt.group}
    if flt.instance_id is not None:
        chosen["instance"] = {"f_instance": flt.instance_id}
    if flt.process_id:
        chosen["process"] = {"f_process": flt.process_id}
    if flt.overdue:
        chosen["overdue"] = {"f_now": now}
    if flt.due_today:
        local = now.astimezone(clock.local_tz())
        chosen["due_today"] = {"f_end_of_day": local.replace(hour=23, minute=59, second=59, microsecond=999999)}
    term = (flt.search or "").strip()
    patterns = {"f_prefix": _like_text(term) + "%", "f_part": "%" + _like_text(term) + "%"}
    number = whole_number(term)
    if number is not None and len(term) < 3:  # too short to be a phone or a room: a case number
        chosen["search_case"] = {"f_number": number}
    elif number is not None:
        chosen["search_number"] = {"f_number": number if len(term) <= 9 else -1, **patterns}
    elif term:
        chosen["search"] = patterns
    return tuple(chosen), {name: value for values in chosen.values() for name, value in values.items()}


@functools.lru_cache(maxsize=1024)
def _view_queries(scope: str, for_person: bool, groups: int, filters: tuple[str, ...],
                  sort: str = "due") -> tuple[Prepared, Prepared]:
    """(page rows, total) statements of one shape of view, built once: building SQLAlchemy
    statements costs more than running them here. Unfiltered inboxes in due order read each
    look-up's first keys in index order; filtered or otherwise sorted views read the rows the
    filters pick."""
    every, ids = _all_keys(scope, for_person, groups), _all_keys(scope, for_person, groups, only_ids=True)
    if filters or sort != "due":
        rows, counted = _page_queries(every, ids, [c for name in filters for c in _ROW_FILTERS[name]()], sort)
    else:
        rows, counted = _page_queries(_top_keys(scope, groups) if for_person else every, ids, [])
    return Prepared(rows), Prepared(counted)


def _view(actor: Actor, flt: TaskFilter) -> tuple[Prepared, Prepared, dict[str, Any]]:
    """The (page rows, total) statements of ``actor``'s view ``flt`` and their parameters."""
    if flt.scope not in SCOPES:
        raise InvalidInput(f"未知的范围 {flt.scope}（可选：{', '.join(SCOPES)}）")
    if flt.sort not in SORTS:
        raise InvalidInput(f"未知的排序 {flt.sort}（可选：{', '.join(SORTS)}）")
    per_page, page = max(1, min(flt.per_page, 500)), max(1, flt.page)
    for_person = not actor.operator
    filters, values = _row_filters(flt)
    groups = sorted(actor.groups) if for_person else []
    rows, counted = _view_queries(flt.scope, for_person, len(groups), filters, flt.sort)
    return rows, counted, {**values, "limit": per_page, "offset": (page - 1) * per_page,
                           "depth": page * per_page, "user": actor.name if for_person else None,
                           **{f"g{i}": name for i, name in enumerate(groups)}}


def list_tasks(db: Database, actor: Actor, flt: TaskFilter | None = None, **criteria: Any) -> TaskPage:
    """A page of the tasks in ``actor``'s inbox (the operator: every task), in the filter's order
    (default: soonest due first, tasks without a due time last)."""
    flt = flt or TaskFilter(**criteria)
    rows, counted, params = _view(actor, flt)
    per_page, page = params["limit"], params["depth"] // params["limit"]
    with db.unit_of_work(read_only=True) as session:
        items = [_item(r) for r in rows.all(session, **params)]
        if page == 1 and len(items) < per_page:
            return TaskPage(items, len(items), page, per_page)  # the page holds them all: no count
        cap = max(COUNT_CAP, page * per_page)
        read, total = counted.first(session, **params, cap=cap + 1)
        return TaskPage(items, total if read <= cap else cap, page, per_page, more=read > cap)


def count_tasks(db: Database, actor: Actor, flt: TaskFilter) -> tuple[int, bool]:
    """How many tasks ``actor``'s view ``flt`` holds, up to COUNT_CAP; and whether there are more
    (a saved filter's count, read as the inbox's total is, without reading any page)."""
    _rows, counted, params = _view(actor, flt)
    with db.unit_of_work(read_only=True) as session:
        read, total = counted.first(session, **params, cap=COUNT_CAP + 1)
    return (total, False) if read <= COUNT_CAP else (COUNT_CAP, True)


_TASK_BY_ID = Prepared(select(TASKS).where(TASKS.c.id == bindparam("id")))
_TASK_AND_CASE = Prepared(  # a completion needs both: one round trip
    select(TASKS, *[column.label(f"case_{column.name}") for column in INSTANCES.columns])
    .join(INSTANCES, INSTANCES.c.id == TASKS.c.instance_id).where(TASKS.c.id == bindparam("id")))


def _require_task(session: Session, task_id: str, with_case: bool = False) -> Row:
    """The task's row (a plain row: tasks are read on every action, so no ORM identity here);
    ``with_case``: its instance's columns too, named ``case_<column>``."""
    row = (_TASK_AND_CASE if with_case else _TASK_BY_ID).first(session, id=task_id)
    if row is None:
        raise NotFound(f"任务 {task_id} 不存在。")
    return row


def _require_open(row: Row) -> None:
    if row.state == "completed":
        who = f"由 {row.completed_by} " if row.completed_by else ""
        raise Conflict(f"任务「{row.name}」已{who}完成，无需再次提交。")
    if row.state != "open":
        raise Conflict(f"任务「{row.name}」已取消（流程已越过这一步）。")


def _require_actor(row: Row, actor: Actor) -> None:
    """The actor may work on this open task right now."""
    _require_open(row)
    access.require_work(actor, row)


@dataclass(frozen=True)
class TaskView:
    """Everything a task page shows."""

    task: TaskItem
    fields: list[forms.FormField]
    values: dict[str, Any]
    case_data: dict[str, Any]
    can_act: bool
    can_claim: bool
    documentation: str | None
    labels: runtime.FormLabels
    four_eyes: str | None = None  # why this person may not take this check (they did the work)


def get_task(db: Database, task_id: str, actor: Actor) -> TaskView:
    with db.unit_of_work(read_only=True) as session:
        row = _require_task(session, task_id)
        if not access.may_view_task(actor, row):
            raise Forbidden(f"任务「{row.name}」不属于您所在的组。")
        case = open_case(session, db, row.instance_id)
        task = runtime.find_task(case.workflow, task_id)
        spec = task.task_spec if task is not None else None
        field_list = forms.fields_of(spec) if spec is not None else []
        data = dict(task.data) if task is not None else runtime.case_data(case.workflow)
        values = {**forms.defaults(field_list), **{f.id: data[f.id] for f in field_list if f.id in data},
                  **forms.defaults([f for f in field_list if f.current_user], user=actor.name)}
        is_open = row.state == "open"
        refusal = access.four_eyes_refusal(actor, actor.name, row, "claim" if row.assignee is None else "complete",
                                           foureyes.deeds_for(db, session, row)) if is_open else None
        return TaskView(
            task=_item(row), fields=field_list, values=values, case_data=data,
            can_act=is_open and refusal is None and access.may_act_on(actor, row),
            can_claim=is_open and refusal is None and access.may_claim(actor, row),
            documentation=getattr(spec, "documentation", None),
            labels=runtime.form_labels(case.deployed.specs),
            four_eyes=str(refusal) if refusal is not None else None,
        )


@recording_refusals
@translating_races
def claim(db: Database, task_id: str, actor: Actor) -> TaskItem:
    with db.unit_of_work() as session:
        row = _require_task(session, task_id)
        _require_actor(row, actor)
        foureyes.guard(db, session, actor, actor.name, row, "claim")
        if row.assignee == actor.name:
            return _item(row)
        row = _set_assignee(session, row, expected=None, assignee=actor.name)
        record_given(db, session, row, actor, "task_claimed", actor.name, {"name": row.name})
        return _item(row)


def record_given(db: Database, session: Session, row: Row, actor: Actor, event: str, to: str | None,
                 payload: dict[str, Any]) -> None:
    """Record that the task was given to ``to`` (None: back to its groups). Where the diagram has
    assignment or update listeners on it, they run in the case (``actions.reassign``), so the
    case is loaded and saved; other tasks need only the event."""
    with_case = _require_task(session, row.id, with_case=True)
    specs = runtime.deployed(db, session, with_case.case_definition_id).specs
    if not runtime.reacts_to_assignment(specs, row.element_id):
        record(session, event, actor.name, instance_id=row.instance_id, task_id=row.id,
               element_id=row.element_id, payload=payload)
        return
    case = open_case(session, db, instance_record(with_case, prefix="case_"))
    task = runtime.find_task(case.workflow, row.id)
    if task is None or task.state != TaskState.READY:
        raise Conflict(f"任务「{row.name}」当前不可分配（流程状态已变化），请刷新。")
    case.note(event, actor.name, task, **payload)
    with running_diagram(case):
        actions.reassign(case.workflow, task, to)
    save_case(case, actor.name)


def _set_assignee(session: Session, row: Row, expected: str | None, assignee: str | None,
                  owner: str | None = None) -> Row:
    """Compare-and-set, so two people claiming at once cannot both win; the updated row."""
    condition = TASKS.c.assignee.is_(None) if expected is None else TASKS.c.assignee == expected
    result = session.connection().execute(
        TASKS.update().where(TASKS.c.id == row.id, TASKS.c.state == "open", condition)
        .values(assignee=assignee, owner=owner))
    if result.rowcount != 1:
        raise Conflict(f"任务「{row.name}」刚被其他人处理，请刷新后重试。")
    touch_instance(session, row.instance_id)
    updated = _require_task(session, row.id)
    WITHDRAW_OFFERS.run(session, task=row.id)
    if assignee is None:  # back in the queue of its groups
        offer_to_candidates(session, [updated._asdict()])
    return updated


@translating_races
def unclaim(db: Database, task_id: str, actor: Actor) -> TaskItem:
    with db.unit_of_work() as session:
        row = _require_task(session, task_id)
        _require_open(row)
        access.require_unclaim(actor, row)
        row = _set_assignee(session, row, expected=actor.name, assignee=None)
        record_given(db, session, row, actor, "task_unclaimed", None, {"name": row.name})
        return _item(row)


@recording_refusals
@translating_races
def delegate(db: Database, task_id: str, actor: Actor, to_user: str) -> TaskItem:
    """Hand a task to a colleague of the same group (shift handover); ``owner`` remembers who."""
    with db.unit_of_work() as session:
        row = _require_task(session, task_id)
        _require_actor(row, actor)
        if to_user == actor.name:
            raise InvalidInput("不能委派给自己。")
        if not access.may_delegate_to(Actor(to_user, groups_of(session, to_user)), row):
            raise InvalidInput(f"{to_user} 不在任务「{row.name}」的处理组中，不能委派。")
        foureyes.guard(db, session, actor, to_user, row, "delegate")
        row = _set_assignee(session, row, expected=row.assignee, assignee=to_user,
                            owner=None if to_user == row.owner else actor.name)
        record_given(db, session, row, actor, "task_delegated", to_user, {"name": row.name, "to": to_user})
        return _item(row)


@recording_refusals
@translating_races
def complete(db: Database, task_id: str, actor: Actor, data: dict[str, Any] | None = None) -> Completion:
    """Validate the form, complete the task, run the engine to the next wait. A check's
    completion records the parts people had in the steps it checked (``checked``)."""
    limits.check_value(data or {})
    with db.unit_of_work() as session:
        row = _require_task(session, task_id, with_case=True)
        _require_actor(row, actor)
        checked = foureyes.guard(db, session, actor, actor.name, row, "complete")
        case = open_case(session, db, instance_record(row, prefix="case_"))
        task = runtime.find_task(case.workflow, task_id)
        if task is None or task.state != TaskState.READY:
            raise Conflict(f"任务「{row.name}」当前不可提交（流程状态已变化），请刷新。")
        values = forms.validate(forms.fields_of(task.task_spec), data or {}, task.data, user=actor.name,
                                labels=runtime.form_labels(case.deployed.specs).fields)
        changed = {k: [task.data.get(k), v] for k, v in values.items() if task.data.get(k) != v}
        case.note("task_completed", actor.name, task, name=row.name, data=values, changed=changed,
                  **({"checked": [d.as_payload() for d in checked]} if checked else {}))
        with running_diagram(case):
            actions.complete(case.workflow, task, values, actor.name)
        case.completed[task_id] = actor.name
        save_case(case, actor.name)
        return Completion(row.instance_id, tuple(_item(opened) for opened in case.opened))
