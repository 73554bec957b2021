"""Storage that cannot take a write (a full disk, a read-only database): the CLI says
``error: …`` and exits 2, the web answers a Chinese 503 page; nothing is half-written."""
from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import event

from engine import services
from engine.store import Database
from webui import create_app

ROOT = Path(__file__).resolve().parents[1]
BPMDESK = [sys.executable, "-c", "from engine.cli import main; main()"]


def cli(url: str, cwd: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "BPMDESK_DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
    return subprocess.run([*BPMDESK, *args], cwd=cwd, capture_output=True, text=True, input=stdin,
                          env=env, timeout=60)


def fill_up(db: Database) -> None:
    """Every new connection may not grow the file: SQLite then fails as on a full disk."""
    db.dispose()
    raw = sqlite3.connect(db.url.removeprefix("sqlite:///"), isolation_level=None)
    raw.execute("VACUUM")  # no free pages left inside the file either
    raw.close()

    @event.listens_for(db.engine, "connect")
    def _full(dbapi_conn, _record) -> None:
        pages = dbapi_conn.execute("PRAGMA page_count").fetchone()[0]
        dbapi_conn.execute(f"PRAGMA max_page_count = {pages}")
    db.engine.dispose()


def test_the_cli_on_a_read_only_database_says_so_and_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "ro.db"
    assert cli(f"sqlite:///{path}", tmp_path, "init").returncode == 0
    read_only = f"sqlite:///file:{path}?mode=ro&uri=true"
    result = cli(read_only, tmp_path, "users", "add", "wang", "--groups", "front-desk", "--password-stdin",
                 stdin="pw12\n")
    assert result.returncode == 2, result.stderr
    assert "error: 数据库为只读" in result.stderr and "Traceback" not in result.stderr
    assert "wang" not in cli(f"sqlite:///{path}", tmp_path, "users", "list").stdout


def test_a_full_disk_is_a_chinese_503_page_and_nothing_is_written(db: Database, tmp_path: Path) -> None:
    key = services.open_session(db, "frontdesk")  # signed in before the disk filled up
    fill_up(db)
    app = create_app({"DATABASE_URL": db.url, "VAR_DIR": tmp_path / "var", "TESTING": True,
                      "WTF_CSRF_ENABLED": False})
    app.extensions["bpmdesk.db"] = db
    client = app.test_client()
    assert client.post("/login", data={"username": "frontdesk", "password": "demo"}).status_code in (302, 503)
    big = {"customer_name": "李先生", "phone": "13800138000", "room": "3-1-502", "channel": "phone",
           "occurred_at": "今天上午", "place": "3号楼电梯", "description": "电梯异响" * 2400,
           "read_back_confirmed": "true"}
    with client.session_transaction() as session:
        session["_user_id"], session["_fresh"] = key, True
    response = client.post("/start/complaint_handling", data=big)
    assert response.status_code == 503
    assert "存储空间已满" in response.get_data(as_text=True)
    assert services.search_cases(db, services.CaseQuery(), services.Actor.operator()).total == 0
