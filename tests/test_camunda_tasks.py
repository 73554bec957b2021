"""Who sees a user task, as Camunda 7 decides it — and the tasks the diagram gives to nobody."""
from __future__ import annotations

import json

from engine import services
from engine.compat import SourceFile
from engine.demo import ensure_demo_users

from camunda_cases import cli, definitions, process, user_task

NOBODY = definitions(process("nobody", user_task("sort", "分拣", attributes=""), user_task("file", "归档")))


def deploy(db, pid: str, content: bytes):
    return services.deploy_files(db, [SourceFile(f"{pid}.bpmn", content)], services.Actor.operator("test"))


def names(db, user: str) -> list[str]:
    return [t.name for t in services.list_tasks(db, services.actor_for(db, user)).items]


def test_a_task_given_to_nobody_waits_in_the_unassigned_queue_of_supervisors_and_admins(empty_db):
    ensure_demo_users(empty_db)
    report = deploy(empty_db, "nobody", NOBODY)
    assert any('userTask "sort" (分拣) has no assignee and no candidates: nobody sees it' in w and "未分配" in w
               for w in report.warnings)
    first = services.start_instance(empty_db, "nobody", services.Actor.operator())
    (task,) = services.list_tasks(empty_db, services.Actor.operator(), instance_id=first).items
    assert task.candidate_groups == ("未分配",) and task.assignee is None
    assert names(empty_db, "frontdesk") == [] and names(empty_db, "engineer") == []
    assert names(empty_db, "supervisor") == ["分拣"] and names(empty_db, "admin") == ["分拣"]
    assert [t.name for t in services.list_tasks(empty_db, services.actor_for(empty_db, "supervisor"), group="未分配").items] == ["分拣"]

    services.complete(empty_db, task.id, services.actor_for(empty_db, "admin"))  # an admin completes it at once
    assert [t.name for t in services.list_tasks(empty_db, services.Actor.operator(), instance_id=first).items] == ["归档"]

    second = services.start_instance(empty_db, "nobody", services.Actor.operator())
    (task,) = services.list_tasks(empty_db, services.Actor.operator(), instance_id=second).items
    services.delegate(empty_db, task.id, services.actor_for(empty_db, "supervisor"), "engineer")  # the supervisor assigns it to anyone
    assert names(empty_db, "engineer") == ["分拣"] and names(empty_db, "supervisor") == []
    services.complete(empty_db, task.id, services.actor_for(empty_db, "engineer"))
    assert services.show_instance(empty_db, second, services.Actor.operator()).open_tasks[0].name == "归档"
    for instance in (first, second):
        replayed = services.replay(empty_db, instance, services.Actor.operator())
        assert replayed.compared and replayed.divergence is None


def test_the_unassigned_queue_from_the_command_line(tmp_path):
    (tmp_path / "nobody.bpmn").write_bytes(NOBODY)
    bpmdesk = cli(tmp_path)
    deployed = bpmdesk("deploy", "nobody.bpmn")
    assert deployed.returncode == 0 and "未分配" in deployed.stderr
    for name, groups in (("lead", "cs-supervisor"), ("worker", "engineering")):
        assert bpmdesk("users", "add", name, "--groups", groups).returncode == 0
    instance = bpmdesk("start", "nobody").stdout.strip()
    assert json.loads(bpmdesk("tasks", "--as", "worker", "--json").stdout) == []
    (task,) = json.loads(bpmdesk("tasks", "--as", "lead", "--json").stdout)
    assert task["candidate_groups"] == ["未分配"]
    assert bpmdesk("complete", task["id"], "--as", "worker").returncode == 2
    assert bpmdesk("delegate", task["id"], "--as", "lead", "--to", "worker").returncode == 0
    assert bpmdesk("complete", task["id"], "--as", "worker").returncode == 0
    assert [t["name"] for t in json.loads(bpmdesk("tasks", "--instance", instance, "--json").stdout)] == ["归档"]


def resources(inner: str) -> bytes:
    return definitions(process("res", f'<bpmn:userTask id="t" name="任务">{inner}</bpmn:userTask>'))


def formal(kind: str, text: str) -> str:
    return (f"<bpmn:{kind}><bpmn:resourceAssignmentExpression><bpmn:formalExpression>{text}"
            f"</bpmn:formalExpression></bpmn:resourceAssignmentExpression></bpmn:{kind}>")


def test_human_performer_is_the_assignee_and_potential_owners_are_candidates(empty_db):
    ensure_demo_users(empty_db)
    deploy(empty_db, "res", resources(formal("humanPerformer", "engineer")))
    (task,) = services.list_tasks(empty_db, services.Actor.operator(), instance_id=services.start_instance(empty_db, "res", services.Actor.operator())).items
    assert task.assignee == "engineer"

    report = deploy(empty_db, "res", resources(formal("potentialOwner", "user(cleaner), group(engineering), security")))
    assert not any("未分配" in warning for warning in report.warnings)
    (task,) = services.list_tasks(empty_db, services.Actor.operator(), instance_id=services.start_instance(empty_db, "res", services.Actor.operator())).items
    assert (task.assignee, task.candidate_users, task.candidate_groups) == (
        None, ("cleaner",), ("engineering", "security"))
    assert names(empty_db, "guard") == ["任务"] and names(empty_db, "cleaner") == ["任务"]
