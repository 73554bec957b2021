#!/usr/bin/env python3
"""Server-side time of the inbox page for one user, at 1,000 and at 100,000 open tasks.

The inbox must stay fast however much work is open elsewhere: it reads the indexed task table only.
This script fills that table with open tasks spread over 200 groups, signs in a user of one group,
and times ``GET /`` (routing, the service query, rendering) through the Flask app in-process, on
SQLite and on PostgreSQL: two databases per backend, one with 1,000 and one with 100,000 open
tasks, timed in alternating blocks so that a busy machine slows both alike.
Targets: p95 ≤ 50 ms and p95(100k) / p95(1k) ≤ 1.5.

The tasks are written straight into the derived tables (instance, human_task, task_candidate) in
the shape the engine derives them: starting 100,000 cases through SpiffWorkflow would take most of
an hour and would measure the engine, not the inbox. The last line of output is JSON.

    .venv/bin/python scripts/bench_inbox.py [--postgres URL | --no-postgres] [--requests 200]
"""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any, Callable, ContextManager

from sqlalchemy import insert, select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine import clock, services  # noqa: E402
from engine.store import Database, DefinitionVersion, HumanTask, Instance, TaskCandidate  # noqa: E402
from engine.store.scratch import scratch_database  # noqa: E402
from webui import create_app  # noqa: E402

GROUPS = [f"group-{i:03d}" for i in range(200)]
USER = "bench-user"
# Five groups, so that at 1,000 open tasks too the user's first page is full (25 rows): the ratio
# then compares the query at two sizes, not a page of 7 rows with a page of 25.
USER_GROUPS = GROUPS[7:12]
NOW = "2025-03-03T09:00:00+08:00"
DEFAULT_PG = os.environ.get("BPMDESK_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def seed_tasks(db: Database, start: int, stop: int, rng: random.Random) -> None:
    """Open tasks number ``start``..``stop``-1, one case each, each for one group; a few are the user's."""
    now = clock.now()
    with db.unit_of_work() as session:
        definition = session.scalars(select(DefinitionVersion)).first()
    for chunk in range(start, stop, 5_000):
        instances, tasks, candidates = [], [], []
        for n in range(chunk, min(chunk + 5_000, stop)):
            group = GROUPS[n % len(GROUPS)]
            created = now - timedelta(minutes=rng.randint(1, 3 * 24 * 60))
            instances.append({"id": n + 1, "definition_id": definition.id, "process_id": definition.process_id,
                              "status": "running", "state": "{}", "lock_version": 1, "started_at": created,
                              "started_by": "bench", "updated_at": created, "phone": f"139{n:08d}"})
            task_id = str(uuid.UUID(int=n + 1))
            tasks.append({
                "id": task_id, "instance_id": n + 1, "process_id": definition.process_id,
                "process_name": definition.name, "element_id": "Task_Bench", "name": f"待办事项 {n}",
                "state": "open", "candidate_groups": [group], "candidate_users": [],
                "assignee": USER if n % 997 == 0 else None, "owner": None, "priority": None,
                "created_at": created, "due_at": created + timedelta(hours=rng.choice([1, 4, 24, 72])),
                "follow_up_at": None, "escalated": False, "completed_at": None, "completed_by": None,
                "customer_name": f"客户{n}", "phone": f"139{n:08d}", "room": f"{n % 30}-{n % 6}-{n % 900}"})
            if tasks[-1]["assignee"] is None:  # only unclaimed work waits in a group's queue
                candidates.append({"task_id": task_id, "kind": "group", "name": group,
                                   "due_order": tasks[-1]["due_at"], "created_at": created})
        with db.unit_of_work() as session:
            session.execute(insert(Instance), instances)
            session.execute(insert(HumanTask), tasks)
            session.execute(insert(TaskCandidate), candidates)
    # fresh planner statistics and (PostgreSQL) visibility map, as autovacuum keeps them in service
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("ANALYZE" if db.is_sqlite else "VACUUM ANALYZE")


def time_inbox(client: Any, requests: int, path: str = "/", warm_up: int = 10) -> list[float]:
    """Milliseconds per request after a warm-up, as the server spends them (no network)."""
    for _ in range(warm_up):
        assert client.get(path).status_code == 200
    samples = []
    for _ in range(requests):
        began = time.perf_counter()
        response = client.get(path)
        samples.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 200
    return samples


def summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"p50_ms": round(statistics.median(ordered), 2),
            "p95_ms": round(ordered[int(len(ordered) * 0.95) - 1], 2)}


def signed_in_client(db: Database, var_dir: Path) -> Any:
    app = create_app({"DATABASE_URL": db.url, "VAR_DIR": var_dir, "WTF_CSRF_ENABLED": False})
    client = app.test_client()
    response = client.post("/login", data={"username": USER, "password": "bench-password"})
    assert response.status_code == 302, "bench user could not sign in"
    return client


def prepared(db: Database, size: int, var_dir: Path) -> Any:
    """A database holding ``size`` open tasks and the bench user, and a client signed in as them."""
    db.upgrade_schema()
    services.deploy_paths(db, [ROOT / "processes" / "complaint_handling.bpmn", ROOT / "processes" / "escalation_policy.dmn"], services.Actor.operator("bench"))
    for group in USER_GROUPS:  # a person can only join groups that exist
        services.set_group(db, group, f"测试组 {group[-3:]}", actor=services.Actor.operator("bench"))
    services.add_user(db, USER, USER_GROUPS, "bench-password", actor=services.Actor.operator("bench"))
    began = time.perf_counter()
    seed_tasks(db, 0, size, random.Random(42))
    print(f"  {size:>7,} open tasks seeded in {time.perf_counter() - began:5.1f} s", file=sys.stderr)
    return signed_in_client(db, var_dir)


def bench(databases: tuple[Database, Database], requests: int, sizes: tuple[int, int],
          var_dir: Path) -> dict[str, Any]:
    """Both sizes side by side, timed in alternating blocks of 10 requests: on a shared machine
    the load then weighs on both alike, instead of on whichever size ran during a busy minute."""
    clients = [prepared(db, size, var_dir / label(size)) for db, size in zip(databases, sizes)]
    samples: list[list[float]] = [[], []]
    for block in range(max(1, requests // 10)):
        for which in ((0, 1) if block % 2 == 0 else (1, 0)):
            samples[which] += time_inbox(clients[which], 10, warm_up=10 if block < 2 else 0)
    result: dict[str, Any] = {}
    for size, timed in zip(sizes, samples):
        result[label(size)] = stats = summary(timed)
        print(f"  {size:>7,} open tasks: inbox p50 {stats['p50_ms']:6.2f} ms  p95 {stats['p95_ms']:6.2f} ms",
              file=sys.stderr)
    small, large = (result[label(s)]["p95_ms"] for s in sizes)
    result["ratio"] = round(large / small, 2)
    return result


def label(size: int) -> str:
    return f"{size // 1000}k"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200, help="timed requests per size (default 200)")
    parser.add_argument("--postgres", default=DEFAULT_PG, help="PostgreSQL URL (default: %(default)s)")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--tasks", type=int, default=100_000, help="open tasks at the large size")
    args = parser.parse_args()
    sizes = (1_000, args.tasks)
    backends: list[tuple[str, Callable[[str], ContextManager[Database]]]] = []
    with tempfile.TemporaryDirectory() as folder:
        backends.append(("sqlite", lambda prefix: scratch_database(None, Path(folder), prefix)))
        if not args.no_postgres:
            backends.append(("postgresql", lambda prefix: scratch_database(args.postgres, Path(folder), prefix)))
        results: dict[str, Any] = {}
        with clock.frozen(NOW):
            for name, make in backends:
                print(f"{name}:", file=sys.stderr)
                with make("bench_small") as small, make("bench_large") as large_db:
                    results[name] = bench((small, large_db), args.requests, sizes, Path(folder) / name)
    large = label(sizes[1])
    worst = {"p95_ms_1k": max(r["1k"]["p95_ms"] for r in results.values()),
             f"p95_ms_{large}": max(r[large]["p95_ms"] for r in results.values()),
             "ratio_100k_1k": max(r["ratio"] for r in results.values())}
    worst["targets_met"] = worst[f"p95_ms_{large}"] <= 50 and worst["ratio_100k_1k"] <= 1.5
    print(json.dumps({**worst, "groups": len(GROUPS), "requests": args.requests, "backends": results},
                     ensure_ascii=False))


if __name__ == "__main__":
    main()
