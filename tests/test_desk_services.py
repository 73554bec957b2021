"""What the desk shows a person: their tab counts, and the next task of a case that is theirs."""
from __future__ import annotations

import pytest

from engine import clock, services
from engine.services import TaskFilter

OPERATOR = services.Actor.operator()
T0 = "2025-03-03T09:00:00+08:00"
COMPLAINT = {"customer_name": "李先生", "phone": "13800138000", "room": "3-1-502", "channel": "phone",
             "occurred_at": "今天上午", "place": "大堂", "description": "灯不亮", "read_back_confirmed": "true"}


def dispatched(db) -> str:
    """A complaint at engineering's pick-up (due 15 minutes after dispatch)."""
    case = services.start_instance(db, "complaint_handling", services.actor_for(db, "frontdesk"), COMPLAINT)
    for element, data in (("Task_ClassifyComplaint", {"complaint_kind": "soft"}),
                          ("Task_DispatchToDepartment", {"responsible_dept": "engineering"})):
        task = next(t for t in services.list_tasks(db, services.Actor.operator(), TaskFilter(instance_id=case)).items if t.element_id == element)
        services.complete(db, task.id, services.actor_for(db, "frontdesk"), data)
    return services.list_tasks(db, services.Actor.operator(), TaskFilter(instance_id=case)).items[0].id


@pytest.mark.postgres
def test_tab_counts_follow_claims_and_the_clock(db) -> None:
    with clock.frozen(T0):
        first, second = dispatched(db), dispatched(db)
        services.claim(db, first, services.actor_for(db, "engineer"))
        counts = services.tab_counts(db, services.actor_for(db, "engineer"))
        assert (str(counts.mine), str(counts.group), str(counts.overdue)) == ("1", "1", "0")
        assert str(counts.due_today) == "2"
        assert str(services.tab_counts(db, services.actor_for(db, "engineer2")).group) == "1"
    with clock.frozen("2025-03-03T09:30:00+08:00"):
        assert str(services.tab_counts(db, services.actor_for(db, "engineer")).overdue) == "2"
    assert str(services.tab_counts(db, services.actor_for(db, "cleaner")).group) == "0" and second


def test_the_next_task_of_a_case_is_offered_only_to_who_may_submit_it(db) -> None:
    with clock.frozen(T0):
        case = services.start_instance(db, "complaint_handling", services.actor_for(db, "frontdesk"), COMPLAINT)
        assert services.next_task_for(db, case, services.actor_for(db, "frontdesk")).element_id == "Task_ClassifyComplaint"
        assert services.next_task_for(db, case, services.actor_for(db, "engineer")) is None
        services.claim(db, services.next_task_for(db, case, services.actor_for(db, "frontdesk")).id, services.actor_for(db, "frontdesk2"))
        assert services.next_task_for(db, case, services.actor_for(db, "frontdesk")) is None


@pytest.mark.postgres
def test_search_finds_a_case_by_number_phone_prefix_name_room_or_text(db) -> None:
    with clock.frozen(T0):
        task = dispatched(db)
        case = services.get_task(db, task, OPERATOR).task.instance_id
        engineer = services.actor_for(db, "engineer")
        for term in (str(case), "138001", "李先", "1-502", "灯不亮"):
            found = services.list_tasks(db, engineer, TaskFilter(search=term)).items
            assert [t.id for t in found] == [task], term
        for term in ("黄", "100%", "灯_亮"):
            assert services.list_tasks(db, engineer, TaskFilter(search=term)).items == [], term
