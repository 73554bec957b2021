"""Evaluating a deployed decision without a case: how analysts test a table (`bpmdesk decide`,
`POST /api/decisions/<id>/evaluate`). Nothing is stored; the evaluation is the very one a business
rule task runs (engine.dmn), on the newest deployed DMN file that defines the decision.

Finding that file scans the deployed versions, so the compiled decisions are cached per newest
deployment (one indexed query per call tells whether anything was deployed since).
"""
from __future__ import annotations

import functools
from typing import Any, Mapping

from sqlalchemy import func, select

from engine import dmn
from engine.compat.xmlsafe import read_xml
from engine.errors import InvalidInput, NotFound
from engine.services.access import Actor
from engine.services.deploy import deployed_decision_file
from engine.store import Database, DefinitionVersion


def evaluate_decision(db: Database, decision_id: str, data: Mapping[str, Any], actor: Actor) -> dmn.Evaluation:
    """The decision's result for `data`, with the matched rules; DecisionError if it fails.
    Anyone signed in may test a decision (access.py): nothing is stored or shown but the table's answer."""
    if not isinstance(data, Mapping) or not all(isinstance(key, str) for key in data):
        raise InvalidInput("决策的输入数据必须是 JSON 对象，例如 {\"amount\": 1200}。")
    with db.unit_of_work(read_only=True) as session:
        newest = session.scalar(select(func.max(DefinitionVersion.id)))
    decisions = _deployed(db, newest, decision_id)
    if decisions is None:
        raise NotFound(f"决策 {decision_id} 未部署（它需随使用它的流程一起部署）。")
    return dmn.evaluate(decisions, decision_id, dict(data))


@functools.lru_cache(maxsize=256)
def _deployed(db: Database, newest: int | None, decision_id: str) -> dict[str, dmn.Decision] | None:
    source = deployed_decision_file(db, decision_id)
    return None if source is None else _compiled(source.name, source.content)


@functools.lru_cache(maxsize=64)
def _compiled(name: str, content: bytes) -> dict[str, dmn.Decision]:
    """A deployed file's decisions, compiled once (files never change once deployed)."""
    return dmn.read_dmn(name, read_xml(content)).decisions
