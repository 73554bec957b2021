"""``bpmdesk timers`` (what waits, fire what is due, retry an incident) and ``bpmdesk scheduler``."""
from __future__ import annotations

import dataclasses
import signal
import sys
import threading
from datetime import datetime

import click

from engine import clock, limits, watchdog
from engine.cli import _actor, _db, _emit_json, _table, main
from engine.services import timers as timer_service


def _when(value: datetime | None) -> str:
    return value.astimezone(clock.local_tz()).strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def _line(firing: timer_service.Firing) -> str:
    case = f"case {firing.instance_id}" if firing.instance_id is not None else "no case"
    what = f"{firing.outcome:<8} {case}  {firing.process_id}  {','.join(firing.elements) or '-'}"
    times = f"due {_when(firing.due_at)}  fired {_when(firing.fired_at)}"
    if firing.outcome == "retry":
        return f"{what}  {times}  next try {_when(firing.retry_at)}: {firing.message}"
    if firing.message:
        return f"{what}  {times}: {firing.message}"
    return f"{what}  {times}"


@main.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def timers(ctx: click.Context, as_json: bool) -> None:
    """Timers cases wait on (case, element, due time); subcommands fire them."""
    if ctx.invoked_subcommand is not None:
        return
    items = timer_service.list_timers(_db())
    if as_json:
        _emit_json([dataclasses.asdict(t) for t in items])
        return
    _table([(t.instance_id, t.process_id, t.element_id, t.name, _when(t.due_at),
             t.kind, t.status) for t in items],
           ["CASE", "PROCESS", "ELEMENT", "NAME", "DUE", "KIND", "STATUS"])


@timers.command("fire-due")
@click.option("--json", "as_json", is_flag=True)
def fire_due(as_json: bool) -> None:
    """Fire every timer due now (BPMDESK_NOW respected) and print what fired."""
    firings = timer_service.fire_due(_db())
    if as_json:
        _emit_json([dataclasses.asdict(f) for f in firings])
        return
    for firing in firings:
        click.echo(_line(firing))
    if not firings:
        click.echo(f"nothing due at {_when(clock.now())}")


@timers.command("starts")
@click.option("--json", "as_json", is_flag=True)
def starts(as_json: bool) -> None:
    """When each timer-started process starts next."""
    db = _db()
    timer_service.sync_start_schedules(db)
    items = timer_service.list_start_schedules(db)
    if as_json:
        _emit_json([dataclasses.asdict(s) for s in items])
        return
    _table([(s.process_id, _when(s.next_start_at), s.expression, s.remaining, s.last_instance_id,
             s.last_error) for s in items],
           ["PROCESS", "NEXT START", "TIMER", "LEFT", "LAST CASE", "ERROR"])


@timers.command("retry")
@click.argument("instance_id", type=int)
@click.option("--as", "actor", help="retry as this user (must be an admin)")
def retry(instance_id: int, actor: str | None) -> None:
    """Fire a case's timers again after an incident (once its cause is fixed)."""
    timer_service.retry_incident(_db(), instance_id, _actor(actor))
    click.echo(f"case {instance_id} is running again; its timers fire at the next poll")


@main.command()
@click.option("--poll", "poll_seconds", default=1.0, show_default=True, type=click.FloatRange(0.05, 60),
              help="seconds between reads of the earliest due time (other processes' changes)")
def scheduler(poll_seconds: float) -> None:
    """Fire timers at their due time until stopped (Ctrl-C); safe to run several at once."""
    from engine.scheduler import Scheduler

    db = _db()
    db.upgrade_schema()
    stop = threading.Event()
    watchdog.guard_process()

    def stopping(*_: object) -> None:  # the firing in progress may finish, within the shutdown time
        stop.set()
        watchdog.exit_within(limits.seconds(limits.SHUTDOWN_SECONDS))

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, stopping)

    def report(firing: timer_service.Firing) -> None:
        click.echo(_line(firing))
        sys.stdout.flush()

    click.echo(f"scheduler running (poll {poll_seconds:g} s); Ctrl-C stops")
    sys.stdout.flush()
    Scheduler(db, poll_seconds=poll_seconds, on_firing=report).run_until(stop)
    click.echo("scheduler stopped")
