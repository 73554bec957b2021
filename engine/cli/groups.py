"""``bpmdesk groups``: the groups diagrams name, their Chinese names and their supervisors."""
from __future__ import annotations

import click

from engine import services
from engine.cli import _db, _emit_json, _split, _table, main


@main.group()
def groups() -> None:
    """Groups (candidate groups of the diagrams) with the names staff read."""


@groups.command("list")
@click.option("--json", "as_json", is_flag=True)
def groups_list(as_json: bool) -> None:
    items = services.list_groups(_db())
    if as_json:
        _emit_json([vars(g) for g in items])
        return
    _table([(g.name, g.display_name, ",".join(g.supervisor_groups) or "-") for g in items],
           ["GROUP", "NAME", "SUPERVISED BY"])


@groups.command("set")
@click.argument("name")
@click.argument("display_name")
@click.option("--supervisors", default=None, help="comma-separated groups whose members supervise this one")
def groups_set(name: str, display_name: str, supervisors: str | None) -> None:
    """Add a group or rename it (e.g. ``bpmdesk groups set plumbing 水电班``)."""
    info = services.set_group(_db(), name, display_name,
                              _split(supervisors) if supervisors is not None else None,
                              actor=services.Actor.operator())
    click.echo(f"{info.name}: {info.display_name} (supervised by {', '.join(info.supervisor_groups) or 'nobody'})")
