"""The append-only event log: every change, who/when/what, hash-linked per chain.

A chain is an instance (``i:<id>``) or ``system`` (deployments, users). Each event's hash covers
its content and the previous event's hash, so editing, deleting or inserting a row breaks the chain.
"""
from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import clock
from engine.store import Event

GENESIS = "0" * 64
SYSTEM_CHAIN = "system"


def chain_of(instance_id: int | None) -> str:
    return f"i:{instance_id}" if instance_id is not None else SYSTEM_CHAIN


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


def event_hash(event: Event) -> str:
    """The hash of an event's content and its predecessor's hash."""
    content = {
        "chain": event.chain,
        "seq": event.seq,
        "instance_id": event.instance_id,
        "definition_id": event.definition_id,
        "type": event.type,
        "actor": event.actor,
        "at": event.at.isoformat(),
        "task_id": event.task_id,
        "element_id": event.element_id,
        "payload": event.payload,
        "prev_hash": event.prev_hash,
    }
    return hashlib.sha256(canonical(content).encode("utf-8")).hexdigest()


def _chain_head(session: Session, chain: str) -> tuple[int, str]:
    """(seq, hash) of the newest event of a chain; cached per unit of work."""
    heads: dict[str, tuple[int, str]] = session.info.setdefault("chain_heads", {})
    if chain not in heads:
        row = session.execute(
            select(Event.seq, Event.hash).where(Event.chain == chain).order_by(Event.seq.desc()).limit(1)
        ).first()
        heads[chain] = (row.seq, row.hash) if row else (0, GENESIS)
    return heads[chain]


def record(
    session: Session,
    type: str,
    actor: str,
    *,
    instance_id: int | None = None,
    definition_id: int | None = None,
    task_id: str | None = None,
    element_id: str | None = None,
    payload: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> Event:
    """Append one event to its chain (the caller's unit of work commits it)."""
    chain = chain_of(instance_id)
    seq, prev_hash = _chain_head(session, chain)
    event = Event(
        chain=chain,
        seq=seq + 1,
        instance_id=instance_id,
        definition_id=definition_id,
        type=type,
        actor=actor,
        at=(at or clock.now()),
        task_id=task_id,
        element_id=element_id,
        payload=json.loads(canonical(payload or {})),
        prev_hash=prev_hash,
    )
    event.hash = event_hash(event)
    session.add(event)
    session.info["chain_heads"][chain] = (event.seq, event.hash)
    return event
