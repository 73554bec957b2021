"""Four eyes for auditors: every (doer, checker) pair of the checked steps, recomputed from the
events themselves (not from what a check recorded), so a checker or doer changed in the database
shows as a violation here, and as tampering in ``verify``.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime
from typing import Mapping

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from engine.foureyes import PART_EVENTS, Pair, pairs_of
from engine.store import Event, Instance

BATCH = 2000


@dataclass(frozen=True)
class FourEyesReport:
    pairs: list[Pair] = field(default_factory=list)

    @property
    def violations(self) -> list[Pair]:
        return [p for p in self.pairs if p.violation]


def four_eyes_pairs(session: Session, checks: Mapping[int, dict[str, tuple[str, ...]]],
                    checked_from: datetime | None = None, checked_to: datetime | None = None) -> FourEyesReport:
    """The pairs of the cases of these definitions (id → checking element → checked elements),
    of checks completed in [``checked_from``, ``checked_to``), by case and time."""
    if not checks:
        return FourEyesReport()
    columns = (Event.instance_id, Event.type, Event.actor, Event.task_id, Event.element_id, Event.payload,
               Event.seq, Event.at, Instance.process_id, Instance.definition_id)
    query = (select(*columns).join(Instance, Instance.id == Event.instance_id)
             .where(Instance.definition_id.in_(list(checks)), or_(*(Event.type == t for t in PART_EVENTS)))
             .order_by(Event.instance_id, Event.seq).execution_options(yield_per=BATCH))
    pairs: list[Pair] = []
    for instance_id, rows in itertools.groupby(session.execute(query), key=lambda row: row.instance_id):
        events = list(rows)
        pairs.extend(p for p in pairs_of(instance_id, events[0].process_id, events, checks[events[0].definition_id])
                     if (checked_from is None or p.at >= checked_from) and (checked_to is None or p.at < checked_to))
    return FourEyesReport(pairs)
