"""The shared ``system`` chain under concurrency: simultaneous sign-ins and auditor views, each in a
worker of its own (its own engine and pool, as gunicorn's processes have), all succeed and the
chain stays whole."""
from __future__ import annotations

import threading

import pytest

from engine import services
from engine.services import CaseQuery
from engine.store import Database

ROUNDS, THREADS = 3, 8


@pytest.mark.postgres
def test_simultaneous_sign_ins_and_auditor_views_all_succeed(empty_db: Database) -> None:
    services.add_user(empty_db, "frontdesk", ["front-desk"], "demo", actor=services.Actor.operator())
    services.add_user(empty_db, "auditor", ["auditor"], "demo", actor=services.Actor.operator())
    workers = [Database(empty_db.url) for _ in range(4)]
    failures: list[str] = []
    start = threading.Barrier(THREADS)

    def act(number: int) -> None:
        worker = workers[number % len(workers)]
        start.wait()
        try:
            if number % 2:
                assert services.authenticate(worker, "frontdesk", "demo") is not None
            else:
                services.search_cases(worker, CaseQuery(), viewer=services.actor_for(worker, "auditor"))
        except Exception as error:  # noqa: BLE001 - every failure is counted, whatever it is
            failures.append(f"{type(error).__name__}: {error}")

    try:
        for _ in range(ROUNDS):
            threads = [threading.Thread(target=act, args=(n,)) for n in range(THREADS)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
    finally:
        for worker in workers:
            worker.dispose()
    assert failures == []
    report = services.verify_history(empty_db, services.Actor.operator())
    assert report.ok, report.problems
    assert report.events >= 2 + ROUNDS * THREADS
