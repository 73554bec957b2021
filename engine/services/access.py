"""Who may do what: every access rule of the service layer, in one place an auditor can read.

Every service takes an ``Actor``, built once by the layer that knows who is asking (the CLI from
``--as`` or as the operator, the web and API layers from the signed-in user). There is no default:
a forgotten argument is a ``TypeError``, never a way past the checks. The operator (whoever runs
the CLI on the server, and so already holds the database) is an explicit ``Actor.operator()``.

| action                  | who may                                                                  |
| ----------------------- | ------------------------------------------------------------------------ |
| view a case             | the operator, auditors, its starter, anyone with a part in one of its tasks, |
|                         | supervisors of one of its tasks' groups, analysts (checking a migration)  |
| start a case            | the operator; a member of ``camunda:candidateStarterGroups`` (none: anyone) |
| view a task             | the operator, auditors, its assignee, owner, completer or a candidate,    |
|                         | supervisors of one of its groups                                          |
| assign / take over a task | supervisors of one of its groups; to a candidate of the task, or to themselves |
| a group's team view     | supervisors of the group (members of its ``supervisor_groups``)          |
| claim / complete a task | its assignee; while unclaimed, a candidate user or candidate group member |
| unclaim a task          | its assignee                                                              |
| delegate a task         | whoever may complete it; to a candidate of the task, or back to its owner; |
|                         | a task the diagram gives to nobody, to anyone                             |
| four eyes: claim, complete, be delegated or assigned a checking task | nobody who completed or |
|                         | was assignee of a task it checks (``fourEyes``) in the same case, the operator |
|                         | included; a refusal is recorded (``four_eyes_refused``)                   |
| the unassigned queue    | supervisors, managers, admins: they see, complete and assign its tasks    |
| cancel a case           | the operator, its starter, customer-service supervisors, managers, admins |
| retry an incident       | the operator, admins                                                      |
| audit (search, replay, export, verify) | the operator, auditors                                     |
| deploy                  | the operator, admins, analysts (Camunda Modeler's Deploy button)          |
| check an upload, list versions with open cases, read a version's sources | as deploy  |
| migrate open cases to another version (dry run, migrate, migrate back) | as deploy       |
| manage users, tokens    | the operator, admins                                                      |
| fetch and answer external tasks | the worker group (programs, with a token or Basic credentials)   |
| reset an external task's retries (its incident) | workers, the operator, admins                    |
| list external tasks     | workers, the operator, admins, auditors                                   |
| test a decision (decide) | the operator, anyone signed in (nothing is stored)                      |
| correlate a message, send a signal | the operator, any staff member but an auditor (an integration signs in as staff) |
| comment on / attach a file to a case or its task | whoever may view the case, but an auditor          |
| open a case's attachment | whoever may view the case                                               |
| change an open task's due / follow-up date | supervisors of one of its groups (with a reason)      |

What an auditor looks at is itself recorded (``audit_viewed``); the operator's reads are not.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from engine.errors import Conflict, Forbidden, InvalidInput
from engine.foureyes import COMPLETED, Deed

ADMIN_GROUP = "admin"
AUDITOR_GROUP = "auditor"
ANALYST_GROUP = "analyst"
WORKER_GROUP = "worker"
CANCEL_GROUPS = frozenset({ADMIN_GROUP, "cs-manager", "cs-supervisor"})
#: The queue of user tasks the diagram gives to nobody (no assignee, no candidates). In Camunda
#: only an administrator could find them; here supervisors and admins see, assign and complete them.
UNASSIGNED_QUEUE = "未分配"
QUEUE_KEEPERS = frozenset({ADMIN_GROUP, "cs-manager", "cs-supervisor"})
OPERATOR = "cli"  # the name the operator's actions are recorded under


@dataclass(frozen=True)
class Actor:
    """Who is asking: a person's name and groups, or the operator (``Actor.operator()``).

    A keeper of the unassigned queue is a candidate of its tasks: ``groups`` then includes it.
    ``supervises``: the groups whose supervisor groups the person is in (read from ``work_group``
    where the actor is built).
    """

    name: str
    groups: frozenset[str] = field(default_factory=frozenset)
    operator: bool = False
    supervises: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        groups = frozenset(self.groups)
        object.__setattr__(self, "groups", groups | {UNASSIGNED_QUEUE} if groups & QUEUE_KEEPERS else groups)
        object.__setattr__(self, "supervises", frozenset(self.supervises))

    def in_group(self, *groups: str) -> bool:
        return not self.groups.isdisjoint(groups)

    @property
    def auditor(self) -> bool:
        return self.operator or AUDITOR_GROUP in self.groups

    @property
    def admin(self) -> bool:
        return self.operator or ADMIN_GROUP in self.groups


def _operator(cls: type[Actor], name: str = OPERATOR) -> Actor:
    """The operator, recorded under ``name``."""
    return cls(name, frozenset(), operator=True)


# An instance reads its own ``operator`` field (the flag); the class offers ``Actor.operator()``.
Actor.operator = classmethod(_operator)  # type: ignore[assignment]


def may_start(actor: Actor, start_groups: Iterable[str]) -> bool:
    """``camunda:candidateStarterGroups``: nobody listed means anyone may start."""
    groups = set(start_groups)
    return actor.operator or not groups or actor.in_group(*groups)


def may_view_case(actor: Actor, started_by: str, tasks: Iterable[Any]) -> bool:
    """Tasks: the case's task items (assignee, owner, completed_by, candidates)."""
    if actor.auditor or started_by == actor.name or actor.in_group(ANALYST_GROUP):
        return True  # analysts: to look at the cases they migrate between versions
    return any(_involved(actor, t) or supervises(actor, t) for t in tasks)


def may_cancel(actor: Actor, started_by: str) -> bool:
    return actor.operator or started_by == actor.name or actor.in_group(*CANCEL_GROUPS)


def is_candidate(actor: Actor, task: Any) -> bool:
    """Offered the task: a candidate user, or in one of its candidate groups."""
    return actor.name in (task.candidate_users or ()) or actor.in_group(*(task.candidate_groups or ()))


def _involved(actor: Actor, task: Any) -> bool:
    return actor.name in (task.assignee, task.owner, task.completed_by) or is_candidate(actor, task)


def supervises(actor: Actor, task: Any) -> bool:
    """A supervisor of one of the task's groups (the 督办 of a late task may open and assign it)."""
    return not actor.supervises.isdisjoint(task.candidate_groups or ())


def may_view_task(actor: Actor, task: Any) -> bool:
    return actor.auditor or _involved(actor, task) or supervises(actor, task)


def require_supervisor(actor: Actor, task: Any, to: Actor) -> None:
    """Assign or take over: a supervisor of the task's groups, to a candidate or to themselves."""
    if not (actor.operator or supervises(actor, task)):
        raise Forbidden(f"只有「{task.name}」所在组的主管或经理可以分派此任务。")
    if to.name != actor.name and not is_candidate(to, task):
        raise InvalidInput(f"{to.name} 不在任务「{task.name}」的处理组中，不能分派给他/她。")


def require_due_change(actor: Actor, task: Any) -> None:
    """A new due / follow-up date: the supervisors of the task's groups (the 督办 of a late task)."""
    if not (actor.operator or supervises(actor, task)):
        raise Forbidden(f"只有「{task.name}」所在组的主管或经理可以调整它的时限。")


def require_team(actor: Actor, group: str) -> None:
    if not (actor.operator or group in actor.supervises):
        raise Forbidden("只有该组的主管或经理可以查看组内工作情况。")


def may_act_on(actor: Actor, task: Any) -> bool:
    """Complete (or delegate) it now: its assignee, or a candidate while nobody has claimed it."""
    return task.assignee == actor.name or (task.assignee is None and is_candidate(actor, task))


def may_claim(actor: Actor, task: Any) -> bool:
    return task.assignee is None and is_candidate(actor, task)


def require_work(actor: Actor, task: Any) -> None:
    """Claim or complete: refused with what the person should know (claimed by whom, not theirs)."""
    if may_act_on(actor, task):
        return
    if task.assignee is not None:
        if is_candidate(actor, task):
            raise Conflict(f"任务「{task.name}」已被 {task.assignee} 认领。")
        raise Forbidden(f"任务「{task.name}」不是您的任务。")
    raise Forbidden(f"任务「{task.name}」不属于您所在的组。")


class FourEyesRefused(Forbidden):
    """A checking task refused to someone who did the work it checks; the service records it."""

    def __init__(self, message: str, person: str, task: Any, action: str, deeds: list[Deed]):
        super().__init__(message)
        self.person, self.task, self.action, self.deeds = person, task, action, deeds


#: What the person would have done with the checking task, for the refusal's message.
FOUR_EYES_ACTIONS = {"claim": "认领", "complete": "完成", "delegate": "被委派", "assign": "被分派"}


def require_four_eyes(actor: Actor, person: str, task: Any, action: str, deeds: list[Deed]) -> None:
    """The four-eyes rule: ``person`` may not claim, complete, be delegated or be assigned the
    checking ``task`` after having had a part (``deeds``: completed it or was its assignee) in a
    step it checks of the same case. Every road to a task (web, CLI, API, team view) asks here."""
    refusal = four_eyes_refusal(actor, person, task, action, deeds)
    if refusal is not None:
        raise refusal


def four_eyes_refusal(actor: Actor, person: str, task: Any, action: str,
                      deeds: list[Deed]) -> FourEyesRefused | None:
    """What ``require_four_eyes`` would refuse, said before anyone tries (the task page)."""
    own = [d for d in deeds if d.person == person]
    if not own:
        return None
    steps = "、".join(dict.fromkeys(f"「{d.name or d.element_id}」" for d in own))
    part = "完成了" if any(d.part == COMPLETED for d in own) else "承办过"
    who = "您" if person == actor.name else f"{person} "
    return FourEyesRefused(
        f"四眼原则：{who}{part}本案件的{steps}，不能{FOUR_EYES_ACTIONS[action]}复核任务「{task.name}」"
        f"（复核人不能是经办人）。请由其他同事处理。", person, task, action, own)


def require_unclaim(actor: Actor, task: Any) -> None:
    if task.assignee != actor.name:
        raise Forbidden(f"任务「{task.name}」不是由您认领的，不能退回。")


def may_delegate_to(target: Actor, task: Any) -> bool:
    """A task goes to a colleague it is offered to, or back to the one who delegated it; one the
    diagram gave to nobody, to anyone."""
    if list(task.candidate_groups or []) == [UNASSIGNED_QUEUE]:
        return True
    return is_candidate(target, task) or target.name == task.owner


def require_auditor(actor: Actor) -> None:
    if not actor.auditor:
        raise Forbidden("只有审计组成员可以查看审计信息。")


def require_admin(actor: Actor, what: str) -> None:
    if not actor.admin:
        raise Forbidden(f"只有管理员可以{what}。")


def reads_only(actor: Actor) -> bool:
    """An auditor and nothing else: they look, they never change a case."""
    return not actor.operator and not actor.groups - {AUDITOR_GROUP, UNASSIGNED_QUEUE}


def require_sender(actor: Actor) -> None:
    """Messages and signals move cases on: staff send them; an auditor only reads."""
    if reads_only(actor):
        raise Forbidden("审计人员只能查看，不能发送消息或信号。")


def require_noter(actor: Actor) -> None:
    """Comments and attachments: staff who may view the case add them; an auditor only reads."""
    if reads_only(actor):
        raise Forbidden("审计人员只能查看案件，不能添加备注或附件。")


def require_deployer(actor: Actor) -> None:
    if not (actor.admin or actor.in_group(ANALYST_GROUP)):
        raise Forbidden(f"只有管理员或流程分析员（{ANALYST_GROUP} 组）可以部署流程。")


def require_worker(actor: Actor, *, or_admin: bool = False) -> None:
    """External tasks are fetched and answered by programs of the worker group."""
    if actor.in_group(WORKER_GROUP) or (or_admin and actor.admin):
        return
    raise Forbidden(f"用户 {actor.name} 不在 {WORKER_GROUP} 组，不能领取或处理外部任务。")


def may_list_external(actor: Actor) -> bool:
    return actor.in_group(WORKER_GROUP) or actor.admin or actor.auditor
