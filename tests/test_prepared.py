"""Prepared statements on the unit of work's connection: on PostgreSQL their writes queue in a
pipeline, so what a queued write does wrong must still fail the unit of work before it commits,
and leave the connection fit for the next one."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from engine import clock, services
from engine.services.steps import load_instance, write_instance
from engine.store import AppUser, Database, Instance
from engine.store.prepared import Prepared

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)
COMPLAINT = {
    "customer_name": "张三", "phone": "13800000000", "room": "3-201", "channel": "phone",
    "occurred_at": "2026-03-02 08:30", "place": "大堂", "description": "电梯停在 5 楼不动",
    "read_back_confirmed": True,
}
_ADD_USER = Prepared(insert(AppUser.__table__), columns=("name", "active", "created_at"))


def _lock_version(db: Database, instance_id: int) -> int:
    with db.unit_of_work() as session:
        return session.scalar(select(Instance.lock_version).where(Instance.id == instance_id))


_READ_USERS = Prepared(select(AppUser.__table__.c.name).order_by(AppUser.__table__.c.name))
NEXT = {  # what runs after the failing write: on PostgreSQL where its failure is seen
    "commit": lambda session: None,
    "sqlalchemy": lambda session: session.scalars(select(AppUser.name)).all(),
    "prepared read": lambda session: _READ_USERS.all(session),
}


@pytest.mark.postgres
@pytest.mark.parametrize("then", NEXT)
def test_a_stale_instance_write_fails_its_unit_of_work_and_writes_nothing(db, then):
    with clock.frozen(NOW):
        instance_id = services.start_instance(db, "complaint_handling", services.actor_for(db, "frontdesk"), dict(COMPLAINT))
    with db.unit_of_work() as session:
        record = load_instance(session, instance_id)
    read = record.lock_version
    with db.unit_of_work() as session:  # another writer commits after the record was read
        session.execute(update(Instance).where(Instance.id == instance_id)
                        .values(lock_version=Instance.lock_version + 1))
    with pytest.raises(StaleDataError):
        with db.unit_of_work() as session:
            record.room = "9-909"
            write_instance(session, record)
            _ADD_USER.run(session, name="written-with-the-stale-update", active=True, created_at=NOW)
            NEXT[then](session)
    assert _lock_version(db, instance_id) == read + 1
    with db.unit_of_work() as session:  # the same connection, clean again
        assert load_instance(session, instance_id).room == COMPLAINT["room"]
        assert session.get(AppUser, "written-with-the-stale-update") is None


@pytest.mark.postgres
@pytest.mark.parametrize("then", NEXT)
def test_a_failing_queued_write_fails_its_unit_of_work_as_sqlalchemys_error(empty_db, then):
    with empty_db.unit_of_work() as session:
        _ADD_USER.run(session, name="ann", active=True, created_at=NOW)
    with pytest.raises(IntegrityError):
        with empty_db.unit_of_work() as session:
            _ADD_USER.run(session, name="bob", active=True, created_at=NOW)
            _ADD_USER.run(session, name="ann", active=True, created_at=NOW)
            NEXT[then](session)
    with empty_db.unit_of_work() as session:  # the same connection, clean again
        assert session.scalars(select(AppUser.name)).all() == ["ann"]


@pytest.mark.postgres
def test_statements_after_queued_writes_see_them(empty_db):
    with empty_db.unit_of_work() as session:
        _ADD_USER.run_many(session, [{"name": name, "active": True, "created_at": NOW} for name in "ab"])
        assert session.scalars(select(AppUser.name).order_by(AppUser.name)).all() == ["a", "b"]
        _ADD_USER.run(session, name="c", active=True, created_at=NOW)
        assert [row.name for row in _READ_USERS.all(session)] == ["a", "b", "c"]
