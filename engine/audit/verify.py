"""Tamper evidence: recompute every chain and the global block chain, and name what does not match.

Each instance chain (and ``system``) proves its own order and content; the global chain of blocks
proves which events were committed at all, so a deleted newest event or a hand-made appended one
is seen even though its own chain still links. Work and memory grow linearly with the events.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.history import GENESIS, block_hash, event_hash
from engine.store import Event
from engine.store.models import EventBlock

BATCH = 2000


@dataclass(frozen=True)
class Problem:
    """One place where the record is not what was committed."""

    chain: str
    seq: int | None  # None: a problem of the block chain itself
    event_id: int | None  # None when the row is gone
    what: str

    def __str__(self) -> str:
        if self.seq is None:
            return self.what
        row = f"event id {self.event_id}, " if self.event_id is not None else ""
        return f"{self.chain} #{self.seq} ({row}{_chain_label(self.chain)}): {self.what}"


def _chain_label(chain: str) -> str:
    return f"case {chain[2:]}" if chain.startswith("i:") else f"{chain} chain"


@dataclass
class VerifyReport:
    chains: int = 0
    events: int = 0
    blocks: int = 0
    head: str = GENESIS  # hash of the newest block: note it down to detect a cut-off tail later
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(session: Session, noted_head: str | None = None) -> VerifyReport:
    """Check every event and every block; problems in chain order, the first one first.

    Cutting off the newest blocks together with their events leaves a shorter chain that still
    holds together; ``noted_head``, the head printed by an earlier run and kept elsewhere, must
    still be one of the blocks.
    """
    report = VerifyReport()
    anchored = _read_blocks(session, report, noted_head)
    chain: str | None = None
    previous: Any = None
    query = select(*_EVENT_COLUMNS).order_by(Event.chain, Event.seq).execution_options(yield_per=BATCH)
    for row in session.execute(query):
        if row.chain != chain:
            chain, previous = row.chain, None
            report.chains += 1
        report.events += 1
        _check_event(row, previous, anchored.pop((row.chain, row.seq), None), report)
        previous = row
    reported = {(p.chain, p.seq) for p in report.problems}
    for (gone_chain, seq), (_, block) in sorted(anchored.items()):
        if (gone_chain, seq) not in reported:
            report.problems.append(Problem(gone_chain, seq, None,
                                           f"missing: committed in block {block}, the row is gone (deleted)"))
    return report


_EVENT_COLUMNS = [getattr(Event, name) for name in (
    "id", "chain", "seq", "instance_id", "definition_id", "type", "actor", "at", "task_id",
    "element_id", "payload", "prev_hash", "hash")]


def _check_event(row: Any, previous: Any, anchor: tuple[str, int] | None, report: VerifyReport) -> None:
    """The row's own hash, its link to its predecessor, and its listing in the global chain."""
    def problem(what: str) -> None:
        report.problems.append(Problem(row.chain, row.seq, row.id, what))

    expected_seq = previous.seq + 1 if previous is not None else 1
    if row.seq > expected_seq:
        for seq in range(expected_seq, row.seq):
            report.problems.append(Problem(row.chain, seq, None, "missing: the chain skips it (deleted)"))
    elif row.prev_hash != (previous.hash if previous is not None else GENESIS):
        problem("does not link to the event before it (an earlier event was rewritten)")
    if event_hash(row) != row.hash:
        problem("content does not match its hash (edited)")
    if anchor is None:
        problem("not committed in any block of the global chain (inserted)")
    elif anchor[0] != row.hash:
        problem(f"differs from the hash committed in block {anchor[1]} (rewritten)")


def _read_blocks(session: Session, report: VerifyReport,
                 noted_head: str | None) -> dict[tuple[str, int], tuple[str, int]]:
    """Every committed (chain, seq) → (hash, block seq), after checking the block chain itself."""
    anchored: dict[tuple[str, int], tuple[str, int]] = {}
    previous_hash, expected = GENESIS, 1
    head_seen = noted_head is None
    for block in session.scalars(select(EventBlock).order_by(EventBlock.seq)
                                 .execution_options(yield_per=BATCH)):
        report.blocks += 1
        if block.seq != expected:
            report.problems.append(Problem("global", None, None,
                                           f"global chain: blocks {expected}–{block.seq - 1} are missing"))
        elif block.prev_hash != previous_hash:
            report.problems.append(Problem("global", None, None,
                                           f"global chain: block {block.seq} does not link to block {expected - 1}"))
        if block_hash(block) != block.hash:
            report.problems.append(Problem("global", None, None,
                                           f"global chain: block {block.seq} does not match its hash (edited)"))
        for chain, seq, digest in block.events:
            anchored[(chain, seq)] = (digest, block.seq)
        previous_hash, expected = block.hash, block.seq + 1
        head_seen = head_seen or block.hash == noted_head
    if not head_seen:
        report.problems.append(Problem("global", None, None, f"global chain: the noted head {noted_head} "
                                                             "is gone (the newest history was cut off or rewritten)"))
    report.head = previous_hash
    return anchored
