"""Auditing commands: ``audit verify``, ``audit four-eyes``, ``replay``, ``history`` and ``export``.

``audit verify``, ``audit four-eyes`` and ``replay`` exit 1 when the record does not hold (naming the first event that
does not match), so a scheduled job or a script can alert on it; 0 when it holds.
"""
from __future__ import annotations

import dataclasses
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import click

from engine import clock, services
from engine.audit import FORMATS, ReplayResult, Snapshot
from engine.cli import _db, _emit_json, _fmt_time, _json_default, _table, main
from engine.errors import InvalidInput
from engine.services.audit import timeline_entry

MAX_PROBLEMS_SHOWN = 50


@main.group()
def audit() -> None:
    """Tamper evidence of the history."""


@audit.command("verify")
@click.option("--head", "noted_head", help="a head printed by an earlier run: it must still be there")
def audit_verify(noted_head: str | None) -> None:
    """Check every event chain and the global chain; exit 1 naming the first mismatch.

    Keep the printed head somewhere else (a report, a ticket): a later run with --head shows whether
    the newest history was cut off since.
    """
    report = services.verify_history(_db(), services.Actor.operator(), noted_head)
    if report.ok:
        click.echo(f"ok: {report.events} events in {report.chains} chains, {report.blocks} blocks; "
                   f"head {report.head}")
        return
    click.echo(f"TAMPERED: first mismatch: {report.problems[0]}")
    for problem in report.problems[1:MAX_PROBLEMS_SHOWN]:
        click.echo(f"  also: {problem}")
    if len(report.problems) > MAX_PROBLEMS_SHOWN:
        click.echo(f"  … {len(report.problems) - MAX_PROBLEMS_SHOWN} more")
    click.echo(f"{len(report.problems)} problem(s) in {report.events} events")
    click.get_current_context().exit(1)


@audit.command("four-eyes")
@click.option("--process", "process_id", help="only cases of this process")
@click.option("--from", "start", help="checks completed at or after this ISO date/time")
@click.option("--to", "end", help="checks completed before this ISO time (a date: up to the end of that day)")
@click.option("--json", "as_json", is_flag=True)
def audit_four_eyes(process_id: str | None, start: str | None, end: str | None, as_json: bool) -> None:
    """Every checked step with its doer and checker; exit 1 naming each pair where they are one
    person (possible only if the data was changed behind the engine's back: run audit verify)."""
    checked_from, checked_to = services.parse_period(start, end)
    report = services.four_eyes(_db(), services.Actor.operator(), process_id=process_id,
                                checked_from=checked_from, checked_to=checked_to)
    if as_json:
        _emit_json([dataclasses.asdict(p) | {"violation": p.violation} for p in report.pairs])
    else:
        _table([(p.instance_id, f"{p.checked_name or p.checked_element} [{p.checked_element}]", p.doer, p.part,
                 f"{p.checking_name or p.checking_element} [{p.checking_element}]", p.checker, _fmt_time(p.at),
                 "VIOLATION" if p.violation else "ok") for p in report.pairs],
               ["CASE", "CHECKED TASK", "DOER", "PART", "CHECKING TASK", "CHECKER", "TIME", ""])
        for p in report.violations:
            click.echo(f"VIOLATION: case {p.instance_id} ({p.process_id}): {p.checker} checked "
                       f"{p.checked_element} ({p.checking_element}, event #{p.seq}) and {p.part} it too")
        click.echo(f"{len(report.pairs)} pair(s), {len(report.violations)} violation(s)")
    if report.violations:
        click.get_current_context().exit(1)


def _parse_at(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return clock.parse_time(text)
    except ValueError:
        raise InvalidInput(f"--at {text}: not an ISO time (e.g. 2026-03-02T09:30)") from None


@main.command()
@click.argument("instance_id", type=int)
@click.option("--at", "at_text", help="show the case as of this ISO time")
@click.option("--event", "event_seq", type=int, help="show the case as of this event number")
@click.option("--json", "as_json", is_flag=True)
def replay(instance_id: int, at_text: str | None, event_seq: int | None, as_json: bool) -> None:
    """Rebuild a case from its events; without --at/--event, compare it with the stored state."""
    result = services.replay(_db(), instance_id, services.Actor.operator(), event=event_seq, at=_parse_at(at_text))
    if as_json:
        _emit_json(dataclasses.asdict(result) | {"agrees": result.agrees})
    else:
        _print_replay(result)
    if not result.agrees:
        click.get_current_context().exit(1)


def _print_replay(result: ReplayResult) -> None:
    head = f"case {result.instance_id} ({result.process_id} v{result.version})"
    if result.compared and result.agrees:
        click.echo(f"{head}: {result.events} events replayed; agrees with the stored state")
    elif result.agrees:
        click.echo(f"{head} as of event #{result.last_seq} ({_fmt_time(result.last_at)}), "
                   f"rebuilt from {result.events} events:")
    else:
        click.echo(f"{head}: DIVERGES at {result.divergence}")
    _print_snapshot(result.snapshot, with_data=not result.compared)


def _print_snapshot(snapshot: Snapshot, with_data: bool) -> None:
    click.echo(f"status: {snapshot.status}")
    click.echo("open tasks: " + (", ".join(f"{name or element} [{element}]"
                                           for element, name in snapshot.open_tasks) or "none"))
    click.echo("waiting timers: " + (", ".join(f"{name or element} [{element}] due {_fmt_time(due)}"
                                               for element, due, name in snapshot.timers) or "none"))
    if with_data:
        click.echo("data: " + json.dumps(snapshot.data, ensure_ascii=False, default=_json_default))


@main.command()
@click.argument("instance_id", type=int)
@click.option("--json", "as_json", is_flag=True)
def history(instance_id: int, as_json: bool) -> None:
    """The timeline of a case: who did what, when, and which data it changed."""
    entries = [timeline_entry(e) for e in services.history(_db(), instance_id, services.Actor.operator())]
    if as_json:
        _emit_json([dataclasses.asdict(e) for e in entries])
        return
    _table([(e.seq, _fmt_time(e.at), e.actor, e.type, e.name or e.element_id, _detail(e)) for e in entries],
           ["#", "TIME", "ACTOR", "EVENT", "TASK", "DETAIL"])


def _detail(entry: services.TimelineEntry) -> str:
    def text(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False, default=_json_default)

    parts = [f"{k}: {text(old)} → {text(new)}" if old is not None else f"{k}={text(new)}"
             for k, old, new in entry.changes]
    for key in ("to", "reason"):
        if entry.payload.get(key):
            parts.append(f"{key}={entry.payload[key]}")
    for checked in entry.payload.get("checked") or []:  # a check: who did the step it checked
        parts.append(f"checks {checked.get('name') or checked['element_id']} [{checked['element_id']}] "
                     f"done by {checked['person']} ({checked['part']})")
    if entry.type == "timer_fired" and entry.payload.get("due_at"):
        parts.append(f"due {_fmt_time(clock.parse_time(entry.payload['due_at']))}")
    return "; ".join(parts)


@main.command()
@click.option("--format", "fmt", type=click.Choice(FORMATS), required=True)
@click.option("--process", "process_id", help="only cases of this process")
@click.option("--from", "start", help="cases started at or after this ISO date/time")
@click.option("--to", "end", help="cases started before this ISO time (a date: up to the end of that day)")
@click.option("-o", "--output", "output", required=True, type=click.Path(dir_okay=False),
              help="file to write")
def export(fmt: str, process_id: str | None, start: str | None, end: str | None, output: str) -> None:
    """Export an event log (XES or CSV) for process-mining tools."""
    started_from, started_to = services.parse_period(start, end)
    target = Path(output)
    # written beside the target and renamed, so a failed export never leaves half a file
    fd, draft = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            count = services.export_log(_db(), fmt, out, services.Actor.operator(), process_id=process_id,
                                        started_from=started_from, started_to=started_to)
        os.replace(draft, target)
    except BaseException:
        Path(draft).unlink(missing_ok=True)
        raise
    click.echo(f"exported {count.cases} cases, {count.events} events to {target}")
