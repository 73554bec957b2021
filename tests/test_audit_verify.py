"""Tamper evidence: editing, deleting or inserting any single event row is found by
`bpmdesk audit verify`, which names that event; an untouched history verifies clean.

Every row is tampered with in turn by raw SQL inside a transaction that is rolled back afterwards,
so one generated history serves every case.
"""
from __future__ import annotations

import threading
from typing import Any, Iterator

import pytest
from click.testing import CliRunner
from sqlalchemy import delete, insert, select, text, update
from sqlalchemy.orm import Session

from complaint_walks import COMPLAINT, complaint_desk, walk_complaints
from engine import audit, services
from engine.cli import main
from engine.history import event_hash
from engine.store import Database, Event
from engine.store.models import EventBlock

EVENT = Event.__table__
BLOCK = EventBlock.__table__


@pytest.fixture(scope="module")
def walked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    """Three complaints walked; tests tamper only inside transactions they roll back."""
    db = complaint_desk(f"sqlite:///{tmp_path_factory.mktemp('verify') / 'bpmdesk.db'}")
    walk_complaints(db, 3)
    yield db
    db.dispose()


def rows(db: Database) -> list[dict[str, Any]]:
    """Every event row as stored (times aware, payloads decoded), in chain order."""
    with db.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(EVENT).order_by(EVENT.c.chain, EVENT.c.seq))]


def verify_after(db: Database, statement: Any, **params: Any) -> audit.VerifyReport:
    """The verdict on the history as it would be with ``statement`` applied; nothing is kept."""
    with db.engine.connect() as conn:
        transaction = conn.begin()
        conn.execute(text(statement) if isinstance(statement, str) else statement, params)
        with Session(bind=conn) as session:
            report = audit.verify(session)
        transaction.rollback()
    return report


def named(problem: audit.Problem, row: dict[str, Any]) -> bool:
    return (problem.chain, problem.seq) == (row["chain"], row["seq"]) and f"{row['chain']} #{row['seq']}" in str(problem)


def test_an_untouched_history_verifies(walked):
    report = services.verify_history(walked, services.Actor.operator())
    assert report.ok, report.problems[:3]
    assert report.events == len(rows(walked)) and report.chains == 4  # system + three cases


def test_editing_any_single_event_is_found_and_named(walked):
    for row in rows(walked):
        report = verify_after(walked, "UPDATE event SET actor = 'mallory' WHERE id = :id", id=row["id"])
        assert not report.ok and named(report.problems[0], row), (row["chain"], row["seq"], report.problems[:2])
        assert "edited" in report.problems[0].what


def test_rewriting_an_event_with_a_fresh_hash_is_found_and_named(walked):
    """A forger who recomputes the row's own hash still breaks the global chain's record of it."""
    for row in rows(walked)[::5]:
        forged = {**row, "payload": {**row["payload"], "amount": 0}}
        report = verify_after(walked, update(EVENT).where(EVENT.c.id == row["id"])
                              .values(payload=forged["payload"], hash=event_hash(forged)))
        assert named(report.problems[0], row) and "rewritten" in report.problems[0].what, report.problems[:2]


def test_deleting_any_single_event_is_found_and_named(walked):
    for row in rows(walked):
        report = verify_after(walked, "DELETE FROM event WHERE id = :id", id=row["id"])
        assert not report.ok and named(report.problems[0], row), (row["chain"], row["seq"], report.problems[:2])
        assert "missing" in report.problems[0].what and "deleted" in str(report.problems[0])


def test_inserting_a_well_formed_event_at_the_end_of_any_chain_is_found_and_named(walked):
    heads = {row["chain"]: row for row in rows(walked)}
    for head in heads.values():
        forged = {**head, "seq": head["seq"] + 1, "prev_hash": head["hash"], "type": "task_completed",
                  "actor": "mallory", "payload": {"name": "补录"}}
        del forged["id"]
        forged["hash"] = event_hash(forged)
        report = verify_after(walked, insert(EVENT).values(**forged))
        assert not report.ok and named(report.problems[0], forged), report.problems[:2]
        assert "inserted" in report.problems[0].what


def test_cutting_off_the_newest_history_is_found_against_a_noted_head(walked):
    """Dropping the newest block with all its events leaves a consistent but shorter history."""
    head = services.verify_history(walked, services.Actor.operator()).head
    with walked.engine.connect() as conn:
        transaction = conn.begin()
        newest = conn.execute(select(BLOCK).order_by(BLOCK.c.seq.desc()).limit(1)).one()
        for chain, seq, _ in newest.events:
            conn.execute(delete(EVENT).where(EVENT.c.chain == chain, EVENT.c.seq == seq))
        conn.execute(delete(BLOCK).where(BLOCK.c.seq == newest.seq))
        with Session(bind=conn) as session:
            unnoted, noted = audit.verify(session), audit.verify(session, head)
        transaction.rollback()
    assert unnoted.ok and unnoted.head != head
    assert [str(p) for p in noted.problems] == [
        f"global chain: the noted head {head} is gone (the newest history was cut off or rewritten)"]


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
    try:
        tampered = cli("audit", "verify")
    finally:
        with walked.engine.begin() as conn:
            conn.execute(insert(EVENT).values(**victim))
    assert tampered.exit_code == 1
    assert tampered.output.splitlines()[0].startswith(f"TAMPERED: first mismatch: i:2 #{victim['seq']} ")
    assert cli("audit", "verify").exit_code == 0
    head = intact.output.split("head ")[1].strip()
    assert cli("audit", "verify", "--head", head).exit_code == 0
    assert cli("audit", "verify", "--head", "0" * 64).exit_code == 1


@pytest.mark.postgres
def test_concurrent_writers_still_form_one_unbroken_global_chain(db):
    """Blocks are numbered under a lock taken at commit: parallel work cannot fork the chain."""
    errors: list[BaseException] = []

    def start_cases() -> None:
        try:
            for _ in range(5):
                services.start_instance(db, "complaint_handling", services.actor_for(db, "frontdesk"), dict(COMPLAINT))
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    workers = [threading.Thread(target=start_cases) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert not errors
    report = services.verify_history(db, services.Actor.operator())
    assert report.ok and report.chains == 21, report.problems[:3]
