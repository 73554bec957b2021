"""The ``bpmdesk`` command: the operator's and tester's way into the same services the web uses.

Exit codes: 0 done; 2 with ``error: …`` on stderr for anything the user got wrong; 1 for an
internal failure (logged to ``var/bpmdesk.log``, never printed as a traceback).
"""
from __future__ import annotations

import dataclasses
import json
import logging
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterable

import click

from engine import clock, services
from engine.errors import BpmdeskError, DeployError, InvalidInput
from engine.store import Database
from engine.store.trouble import storage_trouble

log = logging.getLogger("bpmdesk")
DEFAULT_PROCESSES = "processes"


def _db() -> Database:
    return click.get_current_context().ensure_object(dict).setdefault("db", Database())


def _actor(name: str | None) -> services.Actor:
    """``--as NAME``: that user, their groups checked by every service; none: the operator."""
    return services.actor_for(_db(), name) if name else services.Actor.operator()


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return sorted(value) if isinstance(value, (set, frozenset)) else list(value)
    if isinstance(value, bytes):
        return None
    if dataclasses.is_dataclass(value):
        return dataclasses.asdict(value)
    return str(value)


def _emit_json(value: Any) -> None:
    click.echo(json.dumps(value, default=_json_default, ensure_ascii=False, indent=2))


def _parse_data(text: str | None, option: str = "--data") -> dict[str, Any]:
    if not text:
        return {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"{option} is not valid JSON: {exc.msg} at column {exc.colno}") from exc
    if not isinstance(data, dict):
        raise InvalidInput(f"{option} must be a JSON object, e.g. '{{\"phone\": \"13800000000\"}}'")
    return data


def _fmt_time(value: datetime | None) -> str:
    return value.astimezone(clock.local_tz()).strftime("%Y-%m-%d %H:%M") if value else "-"


def _table(rows: Iterable[Iterable[Any]], headers: list[str]) -> None:
    rows = [[str(c) if c is not None else "-" for c in row] for row in rows]
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]
    for row in [headers, *rows]:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())


class BpmdeskGroup(click.Group):
    """Turns user errors into ``error: …`` + exit 2 and anything else into a logged exit 1."""

    def invoke(self, ctx: click.Context) -> Any:
        if os.environ.get("BPMDESK_NOW"):
            click.echo(f"note: clock fixed by BPMDESK_NOW at {os.environ['BPMDESK_NOW']}", err=True)
        try:
            return super().invoke(ctx)
        except BpmdeskError as exc:
            for line in (exc.problems if isinstance(exc, DeployError) else [exc.message]):
                click.echo(f"error: {line}", err=True)
            for field, message in getattr(exc, "field_errors", {}).items():
                click.echo(f"error: {field}: {message}", err=True)
            ctx.exit(2)
        except (click.exceptions.Exit, click.ClickException, click.exceptions.Abort):
            raise
        except ValueError as exc:  # e.g. a malformed BPMDESK_NOW
            click.echo(f"error: {exc}", err=True)
            ctx.exit(2)
        except Exception as exc:  # noqa: BLE001 - the one place that keeps tracebacks from users
            if (trouble := storage_trouble(exc)) is not None:  # full disk, read-only folder, …
                click.echo(f"error: {trouble}", err=True)
                ctx.exit(2)
            Path("var").mkdir(exist_ok=True)
            logging.basicConfig(filename="var/bpmdesk.log", level=logging.INFO)
            log.exception("internal error in %s", ctx.invoked_subcommand)
            click.echo(f"error: internal error ({type(exc).__name__}); details in var/bpmdesk.log", err=True)
            ctx.exit(1)


@click.group(cls=BpmdeskGroup)
def main() -> None:
    """bpmdesk — BPMN procedures of the customer-service centre."""
    clock.fixed_from_env()  # a malformed BPMDESK_NOW fails here, before anything runs


@main.command()
def init() -> None:
    """Create or upgrade the database schema (safe to run again)."""
    _db().upgrade_schema()
    click.echo("schema up to date")


@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--as", "actor", default="cli", help="who deploys (recorded in the history)")
@click.option("-v", "--verbose", is_flag=True, help="also show how each JUEL expression will run and, per "
              "file, every construct with what bpmdesk does with it (runs / ignored and why)")
def deploy(paths: tuple[str, ...], actor: str, verbose: bool) -> None:
    """Deploy BPMN/DMN files or folders (default: processes/)."""
    report = services.deploy_paths(_db(), paths or (DEFAULT_PROCESSES,), services.Actor.operator(actor))
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)
    for translation in report.translations if verbose else []:
        click.echo(f"note: {translation}", err=True)
    for item in report.processes:
        click.echo(f"{'deployed' if item.changed else 'unchanged'} {item.process_id} v{item.version}")
    for decision in report.decisions:
        click.echo(f"deployed decision {decision.decision_id} v{decision.version} ({decision.resource})")
    for file, constructs in report.constructs.items() if verbose else []:
        click.echo(f"{file}:")
        for construct in constructs:
            click.echo(f"  {construct.line()}")


@main.command()
@click.option("--json", "as_json", is_flag=True)
def definitions(as_json: bool) -> None:
    """The newest version of every deployed process."""
    items = services.list_definitions(_db())
    if as_json:
        _emit_json([{"process_id": d.process_id, "version": d.version, "name": d.name,
                     "deployed_at": d.deployed_at, "deployed_by": d.deployed_by,
                     "start_groups": d.start_groups, "timer_start": d.timer_start} for d in items])
        return
    _table([(d.process_id, f"v{d.version}", d.name, _fmt_time(d.deployed_at)) for d in items],
           ["PROCESS", "VERSION", "NAME", "DEPLOYED"])


@main.command()
@click.argument("process_id")
@click.option("--data", help="start data as a JSON object")
@click.option("--as", "actor", help="start as this user (their groups are checked)")
@click.option("--business-key", help="the case's business key (messages correlate by it)")
def start(process_id: str, data: str | None, actor: str | None, business_key: str | None) -> None:
    """Start a case; prints the instance id."""
    values = _parse_data(data)  # a malformed --data is reported before anything is looked up
    click.echo(services.start_instance(_db(), process_id, _actor(actor), values, business_key))


@main.command()
@click.argument("decision_id")
@click.option("--data", help="the decision's input variables as a JSON object")
@click.option("--json", "as_json", is_flag=True)
def decide(decision_id: str, data: str | None, as_json: bool) -> None:
    """Evaluate a deployed decision without starting a case: matched rules and outputs."""
    evaluation = services.evaluate_decision(_db(), decision_id, _parse_data(data), services.Actor.operator())
    if as_json:
        _emit_json(dataclasses.asdict(evaluation))
        return
    for line in _evaluation_lines(evaluation):
        click.echo(line)


def _evaluation_lines(evaluation: Any, indent: str = "") -> list[str]:
    """A decision's result as an analyst reads it; required decisions first, indented."""
    lines = [line for earlier in evaluation.required for line in _evaluation_lines(earlier, indent + "  ")]
    policy = f" ({evaluation.hit_policy})" if evaluation.hit_policy else " (literal expression)"
    lines.append(f"{indent}decision {evaluation.decision_id} {evaluation.name}{policy}")
    for label, value in evaluation.inputs.items():
        lines.append(f"{indent}  input {label} = {_json_value(value)}")
    if evaluation.kind == "table":
        matched = ", ".join(str(n) for n in evaluation.matched) or "none"
        lines.append(f"{indent}  matched rules: {matched}")
        for hit in evaluation.hits:
            lines.append(f"{indent}  rule {hit.rule}{' ' + hit.description if hit.description else ''}: "
                         + ", ".join(f"{k} = {_json_value(v)}" for k, v in hit.outputs.items()))
    if evaluation.kind == "literal" or evaluation.aggregated:
        for result in evaluation.results:
            lines.append(f"{indent}  result: " + ", ".join(f"{k} = {_json_value(v)}" for k, v in result.items()))
    if not evaluation.results:
        lines.append(f"{indent}  result: none (every output is null)")
    return lines


def _json_value(value: Any) -> str:
    return json.dumps(value, default=_json_default, ensure_ascii=False)


def _task_rows(items: list[services.TaskItem]) -> list[list[Any]]:
    return [[t.id, t.instance_id, t.process_id, t.name, ",".join(t.candidate_groups) or "-",
             t.assignee, _fmt_time(t.due_at) + (" OVERDUE" if t.overdue else "")] for t in items]


@main.command()
@click.option("--as", "actor", help="only tasks this user may work on")
@click.option("--group", help="only tasks of this candidate group")
@click.option("--instance", "instance_id", type=int)
@click.option("--scope", type=click.Choice(services.work.SCOPES), default="open")
@click.option("--json", "as_json", is_flag=True)
def tasks(actor: str | None, group: str | None, instance_id: int | None, scope: str, as_json: bool) -> None:
    """List tasks (open ones by default)."""
    page = services.list_tasks(_db(), _actor(actor), group=group, instance_id=instance_id, scope=scope,
                               per_page=500)
    if as_json:
        _emit_json([dataclasses.asdict(t) | {"overdue": t.overdue} for t in page.items])
        return
    _table(_task_rows(page.items), ["TASK", "CASE", "PROCESS", "NAME", "GROUPS", "ASSIGNEE", "DUE"])


def _task_action(name: str, action: Callable[..., Any], help_text: str) -> None:
    @main.command(name=name, help=help_text)
    @click.argument("task_id")
    @click.option("--as", "actor", required=True)
    def command(task_id: str, actor: str) -> None:
        item = action(_db(), task_id, _actor(actor))
        click.echo(f"{name}ed {item.id} {item.name} (assignee: {item.assignee or '-'})")


_task_action("claim", services.claim, "Claim a task for yourself.")
_task_action("unclaim", services.unclaim, "Give a claimed task back to its group.")


@main.command()
@click.argument("task_id")
@click.option("--as", "actor", required=True)
@click.option("--to", "to_user", required=True, help="the colleague who takes over")
def delegate(task_id: str, actor: str, to_user: str) -> None:
    """Hand a task to a colleague of the same group."""
    item = services.delegate(_db(), task_id, _actor(actor), to_user)
    click.echo(f"delegated {item.id} {item.name} to {item.assignee}")


@main.command()
@click.argument("task_id")
@click.option("--as", "actor", required=True)
@click.option("--data", help="form values as a JSON object")
def complete(task_id: str, actor: str, data: str | None) -> None:
    """Complete a task with its form values."""
    values = _parse_data(data)  # a malformed --data is reported before anything is looked up
    done = services.complete(_db(), task_id, _actor(actor), values)
    click.echo(f"completed {task_id} (case {done.instance_id})")


@main.command()
@click.argument("instance_id", type=int)
@click.option("--as", "actor", help="cancel as this user (checked)")
@click.option("--reason", required=True)
def cancel(instance_id: int, actor: str | None, reason: str) -> None:
    """Cancel a running case."""
    services.cancel_instance(_db(), instance_id, _actor(actor), reason)
    click.echo(f"cancelled {instance_id}")


@main.command()
@click.argument("instance_id", type=int)
@click.option("--json", "as_json", is_flag=True)
def show(instance_id: int, as_json: bool) -> None:
    """Status, data, open tasks and waiting timers of a case."""
    view = services.show_instance(_db(), instance_id, services.Actor.operator())
    if as_json:
        _emit_json({"id": view.id, "process_id": view.process_id, "version": view.version,
                    "business_key": view.business_key, "status": view.status, "started_at": view.started_at, "started_by": view.started_by,
                    "ended_at": view.ended_at, "data": view.data,
                    "open_tasks": [dataclasses.asdict(t) for t in view.open_tasks],
                    "timers": [dataclasses.asdict(t) for t in view.timers]})
        return
    click.echo(f"case {view.id}: {view.process_name or view.process_id} v{view.version} — {view.status}")
    click.echo(f"started {_fmt_time(view.started_at)} by {view.started_by}")
    if view.business_key:
        click.echo(f"business key: {view.business_key}")
    click.echo("data: " + json.dumps(view.data, ensure_ascii=False, default=_json_default))
    click.echo("open tasks:")
    _table(_task_rows(view.open_tasks), ["TASK", "CASE", "PROCESS", "NAME", "GROUPS", "ASSIGNEE", "DUE"])
    click.echo("waiting timers:")
    _table([(t.element_id, t.name, _fmt_time(t.due_at), "interrupting" if t.interrupting else "reminder")
            for t in view.timers], ["ELEMENT", "NAME", "DUE", "KIND"])


@main.command()
@click.option("--processes", default=DEFAULT_PROCESSES, type=click.Path(), show_default=True)
def demo(processes: str) -> None:
    """Prepare demo mode: schema, every diagram deployed, one demo user per group (password demo)."""
    from engine.demo import DEMO_PASSWORD, ensure_demo_users

    db = _db()
    db.upgrade_schema()
    for item in services.deploy_paths(db, [processes], services.Actor.operator("demo")).processes:
        click.echo(f"{'deployed' if item.changed else 'unchanged'} {item.process_id} v{item.version}")
    click.echo(f"demo users (password: {DEMO_PASSWORD}) — demo mode only:")
    _table([(u.name, u.display_name, ",".join(u.groups)) for u in ensure_demo_users(db)],
           ["USER", "NAME", "GROUPS"])


@main.group()
def users() -> None:
    """Staff accounts and their groups."""


@users.command("add")
@click.argument("name")
@click.option("--groups", default="", help="comma-separated group names")
@click.option("--display-name")
@click.option("--password-stdin", is_flag=True, help="read the password from standard input")
def users_add(name: str, groups: str, display_name: str | None, password_stdin: bool) -> None:
    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    info = services.add_user(_db(), name, _split(groups), password, display_name, actor=services.Actor.operator())
    click.echo(f"added {info.name} ({', '.join(info.groups) or 'no groups'})")


@users.command("list")
@click.option("--json", "as_json", is_flag=True)
def users_list(as_json: bool) -> None:
    items = services.list_users(_db())
    if as_json:
        _emit_json([dataclasses.asdict(u) for u in items])
        return
    _table([(u.name, u.display_name, ",".join(u.groups), "active" if u.active else "inactive")
            for u in items], ["USER", "NAME", "GROUPS", "STATUS"])


@users.command("groups")
@click.argument("name")
@click.argument("groups")
def users_groups(name: str, groups: str) -> None:
    """Replace a user's groups (comma-separated)."""
    info = services.set_groups(_db(), name, _split(groups), actor=services.Actor.operator())
    click.echo(f"{info.name}: {', '.join(info.groups) or 'no groups'}")


@users.command("passwd")
@click.argument("name")
def users_passwd(name: str) -> None:
    """Set a password, read from standard input."""
    services.set_password(_db(), name, sys.stdin.readline().rstrip("\n"), actor=services.Actor.operator())
    click.echo(f"password set for {name}")


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


@main.command()
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=8000, type=int)
@click.option("--workers", default=2, type=int, help="web worker processes")
def serve(host: str, port: int, workers: int) -> None:
    """Serve the staff inbox (and fire timers) until stopped."""
    from webui.server import serve as run_server

    run_server(_db(), host, port, workers)


# Command groups of their own modules register themselves on ``main`` when imported.
from engine.cli import audit as _audit  # noqa: E402,F401
from engine.cli import groups as _groups  # noqa: E402,F401
from engine.cli import events as _events  # noqa: E402,F401
from engine.cli import timers as _timers  # noqa: E402,F401
from engine.cli import tokens as _tokens  # noqa: E402,F401
from engine.cli import reports as _reports  # noqa: E402,F401
