"""The service layer: one function per action. The CLI and the web inbox call only these.

Each call is one unit of work: load → check the actor and the task's state → run SpiffWorkflow →
derive task rows, due times and events from the new state → commit once.
"""
from engine.services.access import Actor
from engine.services.cases import (
    InstanceView,
    cancel_instance,
    history,
    may_start,
    show_instance,
    start_form,
    uses_business_key,
    start_instance,
    startable,
)
from engine.services import external  # noqa: F401 - registers the external-task rows on every save
from engine.reports import facts as _facts  # noqa: F401 - folds every unit of work's events into the report facts
from engine.services.decisions import evaluate_decision
from engine.services.counts import Count, TabCounts, tab_counts
from engine.services.desk import next_task_for
from engine.services.events import Delivery, MessageNotCorrelated, correlate_message, send_signal
from engine.services.deploy import DeployReport, deploy_files, deploy_paths, list_definitions
from engine.services.filters import SavedView, delete_filter, save_filter, saved_filters
from engine.services.groups import GroupInfo, group_names, list_groups, set_group
from engine.services.team import Member, Team, assign, change_due, my_teams, team
from engine.services.timers import fire_due_timers, list_timers
from engine.services.users import (
    UserInfo,
    actor_for,
    add_user,
    authenticate,
    close_session,
    get_user,
    list_users,
    normal_name,
    open_session,
    revoke_sessions,
    session_user,
    set_active,
    set_groups,
    set_password,
    supervised_by,
)
from engine.services.work import (
    Completion,
    TaskFilter,
    TaskItem,
    TaskPage,
    TaskView,
    claim,
    complete,
    count_tasks,
    delegate,
    get_task,
    list_tasks,
    unclaim,
)

__all__ = [
    "close_session", "normal_name", "open_session", "revoke_sessions", "session_user",
    "Member", "Team", "assign", "change_due", "my_teams", "supervised_by", "team",
    "Actor", "actor_for", "Completion", "Count", "DeployReport", "GroupInfo", "TabCounts", "tab_counts", "InstanceView", "TaskFilter", "TaskItem", "TaskPage", "TaskView", "UserInfo",
    "add_user", "authenticate", "cancel_instance", "claim", "complete", "delegate", "deploy_files",
    "deploy_paths", "evaluate_decision", "fire_due_timers", "get_task", "get_user", "group_names", "list_groups", "set_group", "history", "list_definitions",
    "list_tasks", "list_timers", "list_users", "may_start", "next_task_for", "set_active", "set_groups",
    "set_password", "show_instance", "start_form", "start_instance", "startable", "unclaim", "uses_business_key",
]

from engine.services.audit import (  # noqa: E402
    AuditCase,
    CasePage,
    CaseQuery,
    CaseSummary,
    TimelineEntry,
    audit_case,
    export_log,
    four_eyes,
    parse_period,
    replay,
    search_cases,
    verify_history,
)

__all__ += [
    "AuditCase", "CasePage", "CaseQuery", "CaseSummary", "TimelineEntry", "audit_case", "export_log",
    "four_eyes", "parse_period", "replay", "search_cases", "verify_history",
]
from engine.services.notes import (  # noqa: E402
    AttachmentInfo,
    add_attachment,
    add_comment,
    attachment_file,
    attachments,
)

__all__ += ["AttachmentInfo", "add_attachment", "add_comment", "attachment_file", "attachments"]
__all__ += ["SavedView", "delete_filter", "save_filter", "saved_filters", "count_tasks"]
__all__ += ["Delivery", "MessageNotCorrelated", "correlate_message", "send_signal"]
