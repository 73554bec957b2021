"""The service layer end to end: deploy versions, start, claim, complete, authorization, races."""
from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine import clock, services
from engine.errors import Conflict, DeployError, Forbidden, InvalidInput, NotFound, TooManyAttempts
from engine.history import record
from engine.store import Database, Event, HumanTask, Instance

DATA = Path(__file__).with_name("data")
COMPLAINT = {
    "customer_name": "张三", "phone": "13800000000", "room": "3-201", "channel": "phone",
    "occurred_at": "2026-11-23 08:30", "place": "大堂", "description": "电梯停在 5 楼不动",
    "read_back_confirmed": True,
}
NOW = "2026-11-23T09:00:00+08:00"


def only_task(db, user: str | None = None, **criteria) -> services.TaskItem:
    """The one task ``user``'s inbox (everyone's, without a user) shows for ``criteria``."""
    actor = services.actor_for(db, user) if user else services.Actor.operator()
    items = services.list_tasks(db, actor, **criteria).items
    assert len(items) == 1, [t.name for t in items]
    return items[0]


def start_complaint(db) -> int:
    return services.start_instance(db, "complaint_handling", services.actor_for(db, "frontdesk"), dict(COMPLAINT))


def test_deploy_is_versioned_and_unchanged_files_change_nothing(empty_db, tmp_path):
    source = (DATA / "five_steps.bpmn").read_text(encoding="utf-8")
    path = tmp_path / "five_steps.bpmn"
    path.write_text(source, encoding="utf-8")
    first = services.deploy_paths(empty_db, [path], services.Actor.operator())
    again = services.deploy_paths(empty_db, [path], services.Actor.operator())
    assert [(p.process_id, p.version, p.changed) for p in first.processes] == [("five_steps", 1, True)]
    assert [(p.version, p.changed) for p in again.processes] == [(1, False)]

    instance_on_v1 = services.start_instance(empty_db, "five_steps", services.Actor.operator(), {})
    path.write_text(source.replace("第一步", "第一步（新）"), encoding="utf-8")
    changed = services.deploy_paths(empty_db, [path], services.Actor.operator())
    assert [(p.version, p.changed) for p in changed.processes] == [(2, True)]
    instance_on_v2 = services.start_instance(empty_db, "five_steps", services.Actor.operator(), {})
    assert services.show_instance(empty_db, instance_on_v1, services.Actor.operator()).version == 1
    assert services.show_instance(empty_db, instance_on_v2, services.Actor.operator()).version == 2
    assert services.show_instance(empty_db, instance_on_v1, services.Actor.operator()).open_tasks[0].name == "第一步"


def test_a_bad_file_in_a_deployment_deploys_nothing(empty_db, tmp_path):
    good = tmp_path / "good.bpmn"
    good.write_bytes((DATA / "five_steps.bpmn").read_bytes())
    (tmp_path / "bad.bpmn").write_text("<bpmn:definitions", encoding="utf-8")
    with pytest.raises(DeployError) as error:
        services.deploy_paths(empty_db, [tmp_path], services.Actor.operator())
    assert "bad.bpmn:1" in str(error.value)
    assert services.list_definitions(empty_db) == []


@pytest.mark.postgres
def test_a_case_changed_by_another_worker_is_reloaded_never_overwritten(db):
    """Each worker keeps the workflows it committed; a change made elsewhere must win over them."""
    elsewhere = Database(db.url)  # a second worker: its own cache
    try:
        with clock.frozen(NOW):
            instance_id = start_complaint(db)
            classify = only_task(db, user="frontdesk")
            services.complete(db, classify.id, services.actor_for(db, "frontdesk"), {
                "complaint_severity": "general", "complaint_kind": "soft", "validity": "valid"})
            dispatch = only_task(db, user="frontdesk")
            services.claim(elsewhere, dispatch.id, services.actor_for(elsewhere, "frontdesk2"))  # the case moves on elsewhere
            with pytest.raises(Conflict, match="已被 frontdesk2 认领"):
                services.complete(db, dispatch.id, services.actor_for(db, "frontdesk"), {"responsible_dept": "engineering"})
            services.complete(elsewhere, dispatch.id, services.actor_for(elsewhere, "frontdesk2"), {"responsible_dept": "engineering"})
            pickup = only_task(db, user="engineer")
            services.claim(db, pickup.id, services.actor_for(db, "engineer"))
            services.complete(db, pickup.id, services.actor_for(db, "engineer"), {})  # this worker holds the case again
            with elsewhere.unit_of_work() as session:  # an event of the case this worker never saw
                record(session, "note_added", "supervisor", instance_id=instance_id, payload={"text": "已回电"})
            reaction = only_task(db, user="engineer")
            with pytest.raises(Conflict):  # its event chain moved on: the stale head is refused
                services.complete(db, reaction.id, services.actor_for(db, "engineer"), {"reaction_note": "已调整电梯"})
            services.complete(db, reaction.id, services.actor_for(db, "engineer"), {"reaction_note": "已调整电梯"})  # reloaded: done
    finally:
        elsewhere.dispose()
    kinds = [e.type for e in services.history(db, instance_id, services.Actor.operator())]
    assert kinds.count("task_completed") == 4 and "note_added" in kinds
    assert services.verify_history(db, services.Actor.operator()).ok


@pytest.mark.postgres
def test_complaint_walks_from_front_desk_to_the_department(db):
    with clock.frozen(NOW):
        instance_id = start_complaint(db)
        classify = only_task(db, user="frontdesk")
        assert classify.name == "投诉分类" and classify.phone == "13800000000"
        services.complete(db, classify.id, services.actor_for(db, "frontdesk"), {
            "complaint_severity": "general", "complaint_kind": "soft", "validity": "valid"})
        dispatch = only_task(db, user="frontdesk")
        done = services.complete(db, dispatch.id, services.actor_for(db, "frontdesk"), {"responsible_dept": "engineering"})
        pickup = only_task(db, user="engineer")
        assert pickup.candidate_groups == ("engineering",)
        assert done.instance_id == instance_id and done.next_tasks == (pickup,)  # what comes next, as listed
        assert services.list_tasks(db, services.actor_for(db, "cleaner")).items == []
        services.claim(db, pickup.id, services.actor_for(db, "engineer"))
        assert only_task(db, user="engineer", scope="mine").assignee == "engineer"
        assert services.list_tasks(db, services.actor_for(db, "engineer2")).items == []
    view = services.show_instance(db, instance_id, services.actor_for(db, "engineer"))
    assert view.labels.fields["phone"] == "联系电话"
    assert view.labels.options["responsible_dept"]["engineering"] == "工程部"
    with pytest.raises(Forbidden):
        services.show_instance(db, instance_id, services.actor_for(db, "gardener"))
    services.show_instance(db, instance_id, services.actor_for(db, "auditor"))
    with db.unit_of_work() as session:
        viewed = session.scalars(select(Event).where(Event.type == "audit_viewed")).all()
        assert [(e.actor, e.payload["instance_id"]) for e in viewed] == [("auditor", instance_id)]
    kinds = [e.type for e in services.history(db, instance_id, services.Actor.operator())]
    assert kinds[:4] == ["instance_started", "task_ready", "task_completed", "task_ready"]
    assert kinds[-1] == "task_claimed"


def test_wrong_form_data_is_refused_and_changes_nothing(db):
    with clock.frozen(NOW):
        start_complaint(db)
        classify = only_task(db, user="frontdesk")
        before = services.show_instance(db, classify.instance_id, services.Actor.operator())
        with pytest.raises(InvalidInput) as error:
            services.complete(db, classify.id, services.actor_for(db, "frontdesk"), {
                "complaint_severity": "huge", "complaint_kind": "soft", "surprise": 1})
        assert {"complaint_severity", "surprise"} <= set(error.value.field_errors)
        after = services.show_instance(db, classify.instance_id, services.Actor.operator())
    assert after.open_tasks == before.open_tasks and after.data == before.data
    assert [e.type for e in services.history(db, classify.instance_id, services.Actor.operator())].count("task_completed") == 0


def test_a_task_that_is_not_yours_cannot_be_claimed_or_completed(db):
    with clock.frozen(NOW):
        start_complaint(db)
        classify = only_task(db, user="frontdesk")
        with pytest.raises(Forbidden):
            services.complete(db, classify.id, services.actor_for(db, "engineer"), {})
        with pytest.raises(Forbidden):
            services.claim(db, classify.id, services.actor_for(db, "gm"))
        services.claim(db, classify.id, services.actor_for(db, "frontdesk"))
        with pytest.raises(Conflict, match="frontdesk"):
            services.claim(db, classify.id, services.actor_for(db, "frontdesk2"))
        with pytest.raises(Conflict):
            services.complete(db, classify.id, services.actor_for(db, "frontdesk2"), {})
        with pytest.raises(NotFound):
            services.claim(db, "no-such-task", services.actor_for(db, "frontdesk"))


def test_a_stale_second_submission_is_refused(db):
    with clock.frozen(NOW):
        start_complaint(db)
        classify = only_task(db, user="frontdesk")
        values = {"complaint_severity": "general", "complaint_kind": "soft", "validity": "valid"}
        services.complete(db, classify.id, services.actor_for(db, "frontdesk"), values)
        with pytest.raises(Conflict, match="已由 frontdesk 完成"):
            services.complete(db, classify.id, services.actor_for(db, "frontdesk"), values)
    completions = [e for e in services.history(db, classify.instance_id, services.Actor.operator()) if e.type == "task_completed"]
    assert len(completions) == 1


@pytest.mark.postgres
def test_two_people_completing_at_once_cannot_both_win(db):
    with clock.frozen(NOW):
        start_complaint(db)
        classify = only_task(db, user="frontdesk")
        values = {"complaint_severity": "general", "complaint_kind": "soft", "validity": "valid"}
        outcomes: list[str] = []
        barrier = threading.Barrier(2)

        def submit(user: str) -> None:
            barrier.wait()
            try:
                services.complete(db, classify.id, services.actor_for(db, user), values)
                outcomes.append("ok")
            except Conflict:
                outcomes.append("conflict")

        threads = [threading.Thread(target=submit, args=(u,)) for u in ("frontdesk", "frontdesk2")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert sorted(outcomes) == ["conflict", "ok"]
    with db.unit_of_work() as session:
        done = session.scalar(select(func.count()).select_from(Event).where(Event.type == "task_completed"))
        assert done == 1


def test_delegation_hands_a_task_to_a_colleague_and_back(db):
    with clock.frozen(NOW):
        start_complaint(db)
        classify = only_task(db, user="frontdesk")
        services.claim(db, classify.id, services.actor_for(db, "frontdesk"))
        with pytest.raises(InvalidInput):
            services.delegate(db, classify.id, services.actor_for(db, "frontdesk"), "engineer")
        services.delegate(db, classify.id, services.actor_for(db, "frontdesk"), "frontdesk2")
        assert only_task(db, user="frontdesk2", scope="mine").owner == "frontdesk"
        with pytest.raises(Conflict):
            services.complete(db, classify.id, services.actor_for(db, "frontdesk"), {})
        services.delegate(db, classify.id, services.actor_for(db, "frontdesk2"), "frontdesk")
        assert only_task(db, user="frontdesk", scope="mine").owner is None


def test_start_groups_and_start_form_are_enforced(db):
    with pytest.raises(InvalidInput) as error:
        services.start_instance(db, "complaint_handling", services.actor_for(db, "frontdesk"), {"phone": "1"})
    assert "customer_name" in error.value.field_errors
    with pytest.raises(NotFound):
        services.start_instance(db, "no_such_process", services.actor_for(db, "frontdesk"), {})


def test_cancelling_a_case_closes_its_tasks(db):
    with clock.frozen(NOW):
        instance_id = start_complaint(db)
        with pytest.raises(Forbidden):
            services.cancel_instance(db, instance_id, services.actor_for(db, "engineer"), "无关人员")
        services.cancel_instance(db, instance_id, services.actor_for(db, "manager"), "业户撤回投诉")
        view = services.show_instance(db, instance_id, services.Actor.operator())
    assert view.status == "cancelled" and view.open_tasks == []
    assert services.list_tasks(db, services.actor_for(db, "frontdesk")).items == []
    with db.unit_of_work() as session:
        rows = session.scalars(select(HumanTask.state).where(HumanTask.instance_id == instance_id)).all()
        assert rows == ["cancelled"]
        assert session.get(Instance, instance_id).next_due_at is None


def test_camunda_initiator_holds_who_started_the_case(empty_db, tmp_path):
    source = (DATA / "five_steps.bpmn").read_text(encoding="utf-8").replace(
        '<bpmn:startEvent id="StartEvent_Begin" name="开始" />',
        '<bpmn:startEvent id="StartEvent_Begin" name="开始" camunda:initiator="starter" />')
    path = tmp_path / "five_steps.bpmn"
    path.write_text(source, encoding="utf-8")
    services.deploy_paths(empty_db, [path], services.Actor.operator())
    services.add_user(empty_db, "li", ["front-desk"], actor=services.Actor.operator())
    instance_id = services.start_instance(empty_db, "five_steps", services.actor_for(empty_db, "li"), {})
    assert services.show_instance(empty_db, instance_id, services.Actor.operator()).data["starter"] == "li"


def test_a_claimed_task_leaves_the_group_queue_and_returns_when_unclaimed(db):
    with clock.frozen(NOW):
        start_complaint(db)
        classify = only_task(db, user="frontdesk2")
        services.claim(db, classify.id, services.actor_for(db, "frontdesk"))
        assert services.list_tasks(db, services.actor_for(db, "frontdesk2")).items == []
        assert only_task(db, user="frontdesk", scope="mine").id == classify.id
        services.unclaim(db, classify.id, services.actor_for(db, "frontdesk"))
        assert only_task(db, user="frontdesk2", scope="group").id == classify.id


def test_the_inbox_puts_the_soonest_due_first_and_undated_tasks_last(db):
    with clock.frozen(NOW):
        for _ in range(3):
            start_complaint(db)
        undated = services.list_tasks(db, services.actor_for(db, "frontdesk")).items
        first = undated[0]
        services.complete(db, first.id, services.actor_for(db, "frontdesk"), {
            "complaint_severity": "general", "complaint_kind": "soft", "validity": "valid"})
        dispatch = next(t for t in services.list_tasks(db, services.actor_for(db, "frontdesk")).items
                        if t.instance_id == first.instance_id)
        services.complete(db, dispatch.id, services.actor_for(db, "frontdesk"), {"responsible_dept": "engineering"})
        page = services.list_tasks(db, services.actor_for(db, "engineer"), per_page=1)
        assert page.total == 1 and page.items[0].due_at is not None
        frontdesk = services.list_tasks(db, services.actor_for(db, "frontdesk"), per_page=1, page=2)
    assert frontdesk.total == 2 and frontdesk.items[0].due_at is None


def test_five_failed_sign_ins_lock_the_account_for_fifteen_minutes(db):
    with clock.frozen("2026-11-23T09:00:00+08:00"):
        assert services.authenticate(db, "frontdesk", "demo") is not None
        for _ in range(4):
            assert services.authenticate(db, "frontdesk", "wrong") is None
        assert services.authenticate(db, "frontdesk", "demo") is not None  # a success starts the count again
        for _ in range(5):
            assert services.authenticate(db, "frontdesk", "guess") is None
        with pytest.raises(TooManyAttempts, match="请 15 分钟后再试"):
            services.authenticate(db, "frontdesk", "demo")  # even the right password
    with clock.frozen("2026-11-23T09:14:00+08:00"):
        with pytest.raises(TooManyAttempts, match="请 1 分钟后再试"):
            services.authenticate(db, "frontdesk", "demo")
        assert services.authenticate(db, "frontdesk2", "demo") is not None  # other accounts are not affected
    with clock.frozen("2026-11-23T09:15:01+08:00"):
        assert services.authenticate(db, "frontdesk", "demo").name == "frontdesk"
    with db.unit_of_work() as session:  # every attempt is on the record for the auditors
        attempts = session.scalars(select(Event.type).where(Event.actor == "frontdesk",
                                                            Event.type.in_(("signed_in", "sign_in_failed")))).all()
    assert attempts.count("sign_in_failed") == 9 and attempts.count("signed_in") == 3


def test_an_inbox_counts_its_tasks_up_to_a_cap_then_says_more(db, monkeypatch):
    from engine.services import work
    monkeypatch.setattr(work, "COUNT_CAP", 3)  # the rule, at a size a test can afford
    with clock.frozen(NOW):
        for _ in range(5):
            start_complaint(db)
        first = services.list_tasks(db, services.actor_for(db, "frontdesk"), per_page=2)
        assert (len(first.items), first.total, first.more) == (2, 3, True)
        third = services.list_tasks(db, services.actor_for(db, "frontdesk"), per_page=2, page=3)
        assert (len(third.items), third.total, third.more) == (1, 5, False)  # counted past the cap
        every = services.list_tasks(db, services.actor_for(db, "frontdesk"), per_page=4, page=2)
        assert (len(every.items), every.total, every.more) == (1, 5, False)
