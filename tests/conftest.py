"""Shared fixtures: a fresh database per test, on SQLite and (where marked) on PostgreSQL.

``db`` has the schema, every diagram in processes/ deployed and the demo users (engine/demo.py).
``empty_db`` has only the schema. Both run once on SQLite; tests marked ``postgres`` run on the
local PostgreSQL too (``BPMDESK_TEST_PG_URL``, default the ``test`` database on 127.0.0.1).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import pytest
from engine import services
from engine.demo import ensure_demo_users
from engine.store import Database
from engine.store.scratch import scratch_postgres

# Demo accounts are created in nearly every test: a cheap hash keeps that from dominating the suite.
os.environ.setdefault("BPMDESK_PASSWORD_HASH", "pbkdf2:sha256:1000")

ROOT = Path(__file__).resolve().parents[1]
PROCESSES = ROOT / "processes"
PG_URL = os.environ.get("BPMDESK_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if {"db", "empty_db"} & set(metafunc.fixturenames):
        backends = ["sqlite", "postgres"] if metafunc.definition.get_closest_marker("postgres") else ["sqlite"]
        metafunc.parametrize("backend", backends, scope="function")


@pytest.fixture
def empty_db(backend: str, tmp_path: Path) -> Iterator[Database]:
    if backend == "postgres":
        try:
            scratch = scratch_postgres(PG_URL, "t")
            db = scratch.__enter__()
        except Exception as exc:  # noqa: BLE001 - say plainly why every PostgreSQL test fails
            pytest.fail(f"PostgreSQL at {PG_URL} is not reachable: {exc}")
        try:
            db.upgrade_schema()
            yield db
        finally:
            scratch.__exit__(None, None, None)
        return
    db = Database(f"sqlite:///{tmp_path / 'bpmdesk.db'}")
    db.upgrade_schema()
    yield db
    db.dispose()


@pytest.fixture
def db(empty_db: Database) -> Database:
    services.deploy_paths(empty_db, [PROCESSES], services.Actor.operator("test"))
    ensure_demo_users(empty_db)
    return empty_db
