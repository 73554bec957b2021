"""The store on a bad day: a connection the server dropped, a runaway statement, a held write lock."""
from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError

from engine import services
from engine.store import Database


@pytest.mark.postgres
def test_a_held_connection_the_server_ended_is_replaced_before_the_next_request(empty_db: Database,
                                                                                 backend: str) -> None:
    if backend != "postgres":
        pytest.skip("the server ends a backend only on PostgreSQL")
    services.add_user(empty_db, "frontdesk", ["front-desk"], "demo", actor=services.Actor.operator())
    with empty_db.unit_of_work(read_only=True) as session:
        pid = session.execute(text("SELECT pg_backend_pid()")).scalar()
    admin = create_engine(empty_db.url)
    with admin.connect() as conn:
        conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    admin.dispose()
    time.sleep(0.1)  # the server's goodbye reaches the socket
    assert services.get_user(empty_db, "frontdesk") is not None
    assert services.authenticate(empty_db, "frontdesk", "demo") is not None


@pytest.mark.postgres
def test_a_statement_running_past_the_configured_timeout_is_cancelled(empty_db: Database, backend: str,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    if backend != "postgres":
        pytest.skip("statement_timeout is PostgreSQL's")
    monkeypatch.setenv("BPMDESK_STATEMENT_TIMEOUT", "0.2")
    db = Database(empty_db.url)
    try:
        started = time.monotonic()
        with pytest.raises(OperationalError, match="statement timeout"):
            with db.unit_of_work() as session:
                session.execute(text("SELECT pg_sleep(5)"))
        assert time.monotonic() - started < 2
        assert services.list_users(db) == []  # the connection is fine for the next unit of work
    finally:
        db.dispose()


def test_reads_take_no_write_lock_on_sqlite(db: Database, tmp_path: Path) -> None:
    """Another process holds SQLite's write lock: looking (user loader, lists, a case, a task)
    goes on at once; only a write waits."""
    case = services.start_instance(db, "complaint_handling", services.actor_for(db, "frontdesk"), {
        "customer_name": "李先生", "phone": "13800138000", "room": "3-1-502", "channel": "phone",
        "occurred_at": "今天上午", "place": "3号楼电梯", "description": "电梯异响", "read_back_confirmed": True})
    task = services.list_tasks(db, services.actor_for(db, "frontdesk")).items[0]
    writer = sqlite3.connect(db.url.removeprefix("sqlite:///"), isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    try:
        started = time.monotonic()
        assert services.get_user(db, "frontdesk") is not None
        assert services.list_users(db)
        assert services.list_definitions(db)
        assert services.startable(db, services.actor_for(db, "frontdesk"))
        assert services.show_instance(db, case, services.actor_for(db, "frontdesk")).id == case
        assert services.history(db, case, services.Actor.operator())
        assert services.get_task(db, task.id, services.actor_for(db, "frontdesk")).task.id == task.id
        assert services.list_tasks(db, services.actor_for(db, "frontdesk")).items
        assert services.list_timers(db) is not None
        assert time.monotonic() - started < 2
    finally:
        writer.execute("ROLLBACK")
        writer.close()
