"""The append-only event log: every change, who/when/what, hash-linked per chain.

A chain is an instance (``i:<id>``) or ``system`` (deployments, users). Each event's hash covers
its content and the previous event's hash, so editing, deleting or inserting a row breaks the chain.
On commit, the unit of work's events are listed in one :class:`EventBlock` of the global chain, so
deleting a chain's newest events, or appending a well-formed one by hand, is seen too.
"""
from __future__ import annotations

import functools
import hashlib
import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Mapping

from sqlalchemy import bindparam, func, insert, select
from sqlalchemy.orm import Session

from engine import clock
from engine.store import Event
from engine.store.models import EventBlock
from engine.store.prepared import Prepared
from engine.store.unit_of_work import unit_of

GENESIS = "0" * 64
SYSTEM_CHAIN = "system"
BLOCK_LOCK = 4243  # PostgreSQL advisory lock serialising the global chain's head


def chain_of(instance_id: int | None) -> str:
    return f"i:{instance_id}" if instance_id is not None else SYSTEM_CHAIN


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)


HASHED_FIELDS = ("chain", "seq", "instance_id", "definition_id", "type", "actor", "at", "task_id",
                 "element_id", "payload", "prev_hash")


def event_hash(event: Event | Mapping[str, Any], payload_text: str | None = None) -> str:
    """The hash of an event's content and its predecessor's hash (a row or a mapping).

    ``payload_text``: the payload's canonical JSON when the caller has it; it is spliced into
    the content's canonical JSON (the same text as encoding the payload again, without the work).
    """
    get = event.get if isinstance(event, Mapping) else functools.partial(getattr, event)
    content = {name: get(name) for name in HASHED_FIELDS}
    content["at"] = content["at"].isoformat()
    if payload_text is None:
        text = canonical(content)
    else:
        content["payload"] = _PAYLOAD_SLOT
        text = canonical(content).replace(f'"{_PAYLOAD_SLOT}"', payload_text, 1)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


_PAYLOAD_SLOT = f"payload-{uuid.uuid4().hex}"


_CHAIN_HEAD = Prepared(select(Event.seq, Event.hash).where(Event.chain == bindparam("chain"))
                       .order_by(Event.seq.desc()).limit(1))
_BLOCK_HEAD = Prepared(select(EventBlock.seq, EventBlock.hash).order_by(EventBlock.seq.desc()).limit(1))
_INSERT_EVENTS = Prepared(insert(Event.__table__), columns=(*HASHED_FIELDS, "hash"))
_LOCK_BLOCKS = Prepared(select(func.pg_advisory_xact_lock(BLOCK_LOCK)))
_INSERT_BLOCK = Prepared(insert(EventBlock.__table__), columns=("seq", "at", "events", "prev_hash", "hash"))


#: Called with the unit of work's events, in recording order, once they are written (before the
#: commit): derived rows that must agree with the log (engine/reports/facts.py) commit with it.
SEAL_HOOKS: list[Callable[[Session, list[dict[str, Any]]], None]] = []


def known_head(session: Session, chain: str) -> tuple[int, str] | None:
    """(seq, hash) of a chain's newest event, if this unit of work has read or written it."""
    return unit_of(session).chain_heads.get(chain)


def assume_head(session: Session, chain: str, head: tuple[int, str]) -> None:
    """Take a chain's head as known (from a cache) instead of reading it. If it is stale, the next
    event's ``seq`` collides with the one written since, and the unique (chain, seq) key refuses it."""
    unit_of(session).chain_heads[chain] = head


def _chain_head(session: Session, chain: str) -> tuple[int, str]:
    """(seq, hash) of the newest event of a chain; read once per unit of work."""
    heads = unit_of(session).chain_heads
    if chain not in heads:
        row = _CHAIN_HEAD.first(session, chain=chain)
        heads[chain] = (row.seq, row.hash) if row else (0, GENESIS)
    return heads[chain]


def is_shared(chain: str) -> bool:
    """A chain many units of work append to at once (``system``: sign-ins, audit views, users).
    An instance chain has one writer at a time: its instance's version check refuses the other."""
    return not chain.startswith("i:")


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
) -> dict[str, Any]:
    """Append one event to its chain; written with the rest of the unit of work at commit.

    An instance chain's event is linked to its head now; a shared chain's only at commit, under
    the global chain's lock (:func:`_seal`): read earlier, two sign-ins would take the same seq.
    """
    chain = chain_of(instance_id)
    event = {
        "chain": chain, "instance_id": instance_id, "definition_id": definition_id,
        "type": type, "actor": actor, "at": at or clock.now(), "task_id": task_id,
        "element_id": element_id, "payload": json.loads(payload_text := canonical(payload or {})),
    }
    work = unit_of(session)
    if work.events is None:
        work.events = PendingEvents()
    log: PendingEvents = work.events  # type: ignore[assignment]
    if is_shared(chain):
        log.unlinked.append((event, payload_text))
    else:
        work.chain_heads[chain] = _link(event, _chain_head(session, chain), payload_text)
    log.events.append(event)
    return event


def _link(event: dict[str, Any], head: tuple[int, str], payload_text: str) -> tuple[int, str]:
    """Give an event the place after ``head`` and its hash; returns the chain's new head."""
    event["seq"], event["prev_hash"] = head[0] + 1, head[1]
    event["hash"] = event_hash(event, payload_text)
    return event["seq"], event["hash"]


def _link_shared(session: Session, unlinked: list[tuple[dict[str, Any], str]]) -> None:
    """Link shared chains' events to their heads as committed now (the caller holds the lock)."""
    heads: dict[str, tuple[int, str]] = {}
    for event, payload_text in unlinked:
        chain = event["chain"]
        if chain not in heads:
            row = _CHAIN_HEAD.first(session, chain=chain)
            heads[chain] = (row.seq, row.hash) if row else (0, GENESIS)
        heads[chain] = _link(event, heads[chain], payload_text)


def block_hash(block: EventBlock | Mapping[str, Any]) -> str:
    """The hash of a block's listed events, its time and its predecessor's hash (a row or a mapping)."""
    get = block.get if isinstance(block, Mapping) else functools.partial(getattr, block)
    content = {"seq": get("seq"), "at": get("at").isoformat(), "events": get("events"),
               "prev_hash": get("prev_hash")}
    return hashlib.sha256(canonical(content).encode("utf-8")).hexdigest()


@dataclass(eq=False)
class PendingEvents:
    """A unit of work's events until it commits (its :class:`~engine.store.unit_of_work.EventLog`)."""

    events: list[dict[str, Any]] = field(default_factory=list)  # in recording order
    unlinked: list[tuple[dict[str, Any], str]] = field(default_factory=list)  # shared chains': linked at seal

    def seal(self, session: Session) -> None:
        """Write the events and list them in the next block of the global chain (step 2 of a commit,
        after the ORM flush: events may refer to those rows)."""
        if not self.events:
            return
        pending, unlinked = self.events, self.unlinked
        _INSERT_EVENTS.run_many(session, [e for e in pending if "hash" in e])
        # row locks first, the global lock last: commits then cannot deadlock
        if session.get_bind().dialect.name == "postgresql":
            _LOCK_BLOCKS.run(session)  # queued behind the events on a pipeline: no round trip of its own
        if unlinked:  # under the lock (SQLite: the write lock), so no other commit appends meanwhile
            _link_shared(session, unlinked)
            _INSERT_EVENTS.run_many(session, [e for e, _ in unlinked])
        for hook in SEAL_HOOKS:
            hook(session, pending)
        events = [[e["chain"], e["seq"], e["hash"]] for e in pending]
        head = _BLOCK_HEAD.first(session)
        block = {"seq": (head.seq + 1) if head else 1, "at": clock.now(), "events": events,
                 "prev_hash": head.hash if head else GENESIS}
        _INSERT_BLOCK.run(session, **block, hash=block_hash(block))
