"""``bpmdesk report``: the report facts rebuilt from the log, and the manuals' reports."""
from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path

import click

from engine import services
from engine.cli import _db, main
from engine.reports import formats
from engine.services import report_documents, reports


@main.group()
def report() -> None:
    """Reports from the cases (see docs/reports.md)."""


@report.command("rebuild")
def report_rebuild() -> None:
    """Recompute the report facts from the whole event log (the same fold every step runs)."""
    folded = reports.rebuild_facts(_db(), services.Actor.operator())
    click.echo(f"report facts rebuilt from {folded} events")


def _report_command(name: str, title: str) -> None:
    @report.command(name=name, help=f"{title}（{name}）")
    @click.option("--from", "first", type=click.DateTime(["%Y-%m-%d"]), help="first day (local), e.g. 2026-03-02")
    @click.option("--to", "last", type=click.DateTime(["%Y-%m-%d"]), help="last day, included")
    @click.option("--format", "fmt", type=click.Choice(formats.FORMATS), default="xlsx")
    @click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), required=True)
    def command(first: datetime | None, last: datetime | None, fmt: str, output: str) -> None:
        document = report_documents.generate(_db(), services.Actor.operator(), name,
                                             first.date() if first else None, last.date() if last else None)
        buffer = io.BytesIO()
        formats.write(document, fmt, buffer)
        Path(output).write_bytes(buffer.getvalue())
        rows = sum(len(sheet.rows) for sheet in document.sheets)
        click.echo(f"{document.title}: {rows} rows in {len(document.sheets)} sheets written to {output}")


for _name, _report in report_documents.REPORTS.items():
    _report_command(_name, _report.title)
for _name, _what in report_documents.NO_SOURCE.items():
    _report_command(_name, f"{_what}：还没有数据来源")
