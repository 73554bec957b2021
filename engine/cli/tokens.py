"""``bpmdesk tokens``: bearer tokens for programs calling /engine-rest (workers, deploy pipelines)."""
from __future__ import annotations

import dataclasses

import click

from engine.cli import _db, _emit_json, _fmt_time, _split, _table, main
from engine.services import Actor
from engine.services import tokens as token_service


@main.group()
def tokens() -> None:
    """Issue, list and revoke API tokens (Authorization: Bearer …)."""


@tokens.command("add")
@click.argument("name")
@click.option("--groups", default="", help="groups of a new service account (e.g. worker or analyst)")
@click.option("--as", "actor", default="cli", help="who issues it (recorded in the history)")
def tokens_add(name: str, groups: str, actor: str) -> None:
    """Issue a token for user NAME (created as a service account with --groups if new)."""
    issued = token_service.issue_token(_db(), name, _split(groups), actor=Actor.operator(actor))
    click.echo(f"token {issued.info.id} for {name} (shown once, keep it secret):", err=True)
    click.echo(issued.secret)


@tokens.command("list")
@click.option("--json", "as_json", is_flag=True)
def tokens_list(as_json: bool) -> None:
    """Every token ever issued (never the secret itself)."""
    items = token_service.list_tokens(_db(), actor=Actor.operator())
    if as_json:
        _emit_json([dataclasses.asdict(t) for t in items])
        return
    _table([(t.id, t.user, t.prefix + "…", _fmt_time(t.created_at), t.created_by,
             _fmt_time(t.revoked_at) if t.revoked_at else "active") for t in items],
           ["ID", "USER", "TOKEN", "ISSUED", "BY", "REVOKED"])


@tokens.command("revoke")
@click.argument("token_id", type=int)
@click.option("--as", "actor", default="cli")
def tokens_revoke(token_id: int, actor: str) -> None:
    """Stop a token from working, at once."""
    info = token_service.revoke_token(_db(), token_id, actor=Actor.operator(actor))
    click.echo(f"token {info.id} of {info.user} revoked")
