"""Tamper evidence: editing, deleting or inserting any single event row is found by
`bpmdesk audit verify`, which names that event; an untouched history verifies clean.

Every row is tampered with in turn by raw SQL inside a transaction that is rolled back afterwards,
so one generated history serves every case.
"""
from __future__ import annotations

import json
import threading
from typing import Any, Iterator

import pytest
from click.testing import CliRunner
from sqlalchemy import text
from sqlalchemy.orm import Session

from complaint_walks import walk_complaints
from engine import audit, clock, services
from engine.cli import main
from engine.history import event_hash
from engine.store import Database


@pytest.fixture
def walked(db: Database) -> Database:
    walk_complaints(db, 3)
    return db


def rows(db: Database) -> list[dict[str, Any]]:
    with db.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(text("SELECT * FROM event ORDER BY chain, seq"))]


def verify_after(db: Database, sql: str, **params: Any) -> audit.VerifyReport:
    """The verdict on the history as it would be with ``sql`` applied; nothing is kept."""
    with db.engine.connect() as conn:
        transaction = conn.begin()
        conn.execute(text(sql), params)
        with Session(bind=conn) as session:
            report = audit.verify(session)
        transaction.rollback()
    return report


def named(problem: audit.Problem, row: dict[str, Any]) -> bool:
    return (problem.chain, problem.seq) == (row["chain"], row["seq"]) and f"{row['chain']} #{row['seq']}" in str(problem)


def test_an_untouched_history_verifies(walked):
    report = services.verify_history(walked)
    assert report.ok, report.problems[:3]
    assert report.events == len(rows(walked)) and report.chains == 4  # system + three cases


def test_editing_any_single_event_is_found_and_named(walked):
    for row in rows(walked):
        report = verify_after(walked, "UPDATE event SET actor = 'mallory' WHERE id = :id", id=row["id"])
        assert not report.ok and named(report.problems[0], row), (row["chain"], row["seq"], report.problems[:2])
        assert "edited" in report.problems[0].what


def test_rewriting_an_event_with_a_fresh_hash_is_found_and_named(walked):
    """A forger who recomputes the row's own hash still breaks the global chain's record of it."""
    for row in rows(walked)[::7]:
        forged = {**row, "payload": json.loads(row["payload"]) if isinstance(row["payload"], str) else row["payload"]}
        forged["payload"] = {**forged["payload"], "forged": True}
        forged["at"] = forged["at"].replace(tzinfo=clock.now().tzinfo) if forged["at"].tzinfo is None else forged["at"]
        report = verify_after(walked, "UPDATE event SET payload = :payload, hash = :hash WHERE id = :id",
                              id=row["id"], payload=json.dumps(forged["payload"]), hash=event_hash(forged))
        assert named(report.problems[0], row) and "rewritten" in report.problems[0].what


def test_deleting_any_single_event_is_found_and_named(walked):
    for row in rows(walked):
        report = verify_after(walked, "DELETE FROM event WHERE id = :id", id=row["id"])
        assert not report.ok and named(report.problems[0], row), (row["chain"], row["seq"], report.problems[:2])
        assert "missing" in report.problems[0].what and "deleted" in str(report.problems[0])


def test_inserting_a_well_formed_event_at_the_end_of_any_chain_is_found_and_named(walked):
    heads: dict[str, dict[str, Any]] = {}
    for row in rows(walked):
        heads[row["chain"]] = row
    for head in heads.values():
        forged = {**head, "seq": head["seq"] + 1, "prev_hash": head["hash"], "type": "task_completed",
                  "actor": "mallory", "payload": {"name": "补录"}}
        forged["at"] = forged["at"].replace(tzinfo=clock.now().tzinfo)
        forged["hash"] = event_hash(forged)
        report = verify_after(
            walked, "INSERT INTO event (chain, seq, instance_id, definition_id, type, actor, at, task_id, "
            "element_id, payload, prev_hash, hash) VALUES (:chain, :seq, :instance_id, :definition_id, :type, "
            ":actor, :at, :task_id, :element_id, :payload, :prev_hash, :hash)",
            **{**forged, "at": head["at"], "payload": json.dumps(forged["payload"])})
        assert not report.ok and named(report.problems[0], forged), report.problems[:2]
        assert "inserted" in report.problems[0].what


@pytest.fixture
def cli(walked: Database) -> Iterator[Any]:
    runner = CliRunner()
    yield lambda *args: runner.invoke(main, list(args), env={"BPMDESK_DATABASE_URL": walked.url})


def test_cli_verify_exits_0_when_intact_and_1_naming_the_first_bad_event(walked, cli):
    intact = cli("audit", "verify")
    assert intact.exit_code == 0 and intact.output.startswith("ok: ")
    victim = next(r for r in rows(walked) if r["chain"] == "i:2" and r["type"] == "task_completed")
    with walked.engine.begin() as conn:
        conn.execute(text("DELETE FROM event WHERE id = :id"), {"id": victim["id"]})
    tampered = cli("audit", "verify")
    assert tampered.exit_code == 1
    assert tampered.output.splitlines()[0].startswith(f"TAMPERED: first mismatch: i:2 #{victim['seq']} ")


@pytest.mark.postgres
def test_concurrent_writers_still_form_one_unbroken_global_chain(db):
    """Blocks are numbered under a lock taken at commit: parallel work cannot fork the chain."""
    errors: list[BaseException] = []

    def add_users(prefix: str) -> None:
        try:
            for n in range(8):
                services.add_user(db, f"{prefix}{n}", ["front-desk"])
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    workers = [threading.Thread(target=add_users, args=(f"w{i}-",)) for i in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert not errors
    report = services.verify_history(db)
    assert report.ok, report.problems[:3]
