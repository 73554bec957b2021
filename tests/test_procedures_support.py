"""Shared steps for the procedure tests (test_procedures_*.py); this module holds no tests itself.

A :class:`Desk` drives one deployed procedure through the service layer as the demo users would,
on a clock the test moves by hand, so every timer can be checked just before and just after its
limit.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Iterator

import pytest

from engine import clock, services
from engine.demo import ensure_demo_users
from engine.services import TaskItem
from engine.store import Database

MONDAY_9AM = "2026-03-02T09:00:00"  # local time (Asia/Shanghai)
PROCESSES = Path(__file__).resolve().parents[1] / "processes"


@pytest.fixture(scope="module")
def procedures_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    """processes/ deployed and the demo users, shared by the tests of one module.

    Why not the per-test ``db``: creating the demo users hashes 17 passwords (seconds per test).
    Sharing is safe because every test works only on the cases it starts and looks only at them.
    """
    db = Database(f"sqlite:///{tmp_path_factory.mktemp('procedures') / 'bpmdesk.db'}")
    db.upgrade_schema()
    services.deploy_paths(db, [PROCESSES], services.Actor.operator("test"))
    ensure_demo_users(db)
    yield db
    db.dispose()


@pytest.fixture
def desk(procedures_db: Database) -> Desk:
    """A desk whose clock starts on Monday 2026-03-02 09:00."""
    return Desk(procedures_db)


class Desk:
    """The service desk as a test sees it: start cases, find and complete tasks, let time pass."""

    def __init__(self, db: Database, start_at: str | datetime = MONDAY_9AM):
        self.db = db
        self.now: datetime = clock.parse_time(start_at) if isinstance(start_at, str) else start_at

    def start(self, process_id: str, actor: str | None, **data: Any) -> int:
        with clock.frozen(self.now):
            return services.start_instance(self.db, process_id, services.actor_for(self.db, actor), data)

    def open_tasks(self, case: int) -> list[TaskItem]:
        with clock.frozen(self.now):
            return services.list_tasks(self.db, services.Actor.operator(), instance_id=case, scope="open").items

    def open_elements(self, case: int) -> set[str]:
        return {t.element_id for t in self.open_tasks(case)}

    def task(self, case: int, element_id: str) -> TaskItem:
        """The one open task of this element (fails loudly if there is none or several)."""
        found = [t for t in self.open_tasks(case) if t.element_id == element_id]
        assert len(found) == 1, f"{element_id}: open tasks are {sorted(self.open_elements(case))}"
        return found[0]

    def complete(self, case: int, element_id: str, actor: str, **data: Any) -> None:
        task = self.task(case, element_id)
        with clock.frozen(self.now):
            services.complete(self.db, task.id, services.actor_for(self.db, actor), data)

    def claim(self, case: int, element_id: str, actor: str) -> None:
        task = self.task(case, element_id)
        with clock.frozen(self.now):
            services.claim(self.db, task.id, services.actor_for(self.db, actor))

    def delegate(self, case: int, element_id: str, actor: str, to_user: str) -> None:
        task = self.task(case, element_id)
        with clock.frozen(self.now):
            services.delegate(self.db, task.id, services.actor_for(self.db, actor), to_user)

    def inbox(self, user: str, case: int) -> set[str]:
        """The elements of this case that ``user`` sees in the inbox."""
        with clock.frozen(self.now):
            return {t.element_id for t in services.list_tasks(self.db, services.actor_for(self.db, user), instance_id=case).items}

    def wait(self, **delta: float) -> None:
        """Let time pass and fire whatever timers are due by then."""
        self.now += timedelta(**delta)
        with clock.frozen(self.now):
            services.fire_due_timers(self.db)

    def case(self, case: int) -> services.InstanceView:
        with clock.frozen(self.now):
            return services.show_instance(self.db, case, services.Actor.operator())

    def data(self, case: int) -> dict[str, Any]:
        return self.case(case).data

    def status(self, case: int) -> str:
        return self.case(case).status

    def hire(self, name: str, *groups: str) -> str:
        """A colleague in several groups at once — the one person who could both do a step and check
        it, which four eyes must stop. Made once per module database."""
        if name not in {u.name for u in services.list_users(self.db)}:
            services.add_user(self.db, name, list(groups), "pw-desk", actor=services.Actor.operator("test"))
        return name
