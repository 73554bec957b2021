"""``bpmdesk report``: the report facts rebuilt from the log, and the manuals' reports."""
from __future__ import annotations

import click

from engine import services
from engine.cli import _db, main
from engine.services import reports


@main.group()
def report() -> None:
    """Reports from the cases (see docs/reports.md)."""


@report.command("rebuild")
def report_rebuild() -> None:
    """Recompute the report facts from the whole event log (the same fold every step runs)."""
    folded = reports.rebuild_facts(_db(), services.Actor.operator())
    click.echo(f"report facts rebuilt from {folded} events")
