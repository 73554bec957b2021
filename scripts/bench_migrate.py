"""Bulk migration speed: open cases moved to a new version per second, dry run and real.

A small process (tests/migration_site.py: a task with a form and a reminder timer whose duration
the new version changes, so every case gets a new due time) has ``--cases`` open cases on v1;
v2 is deployed; then the dry run of every case and the migration (batches of ``--batch``, each case
its own unit of work, recorded and with its inbox rows and timer rewritten) are timed, on SQLite
and on the local PostgreSQL (``--pg URL``; ``--no-pg`` to skip).

    .venv/bin/python scripts/bench_migrate.py [--cases 10000] [--batch 1000]

The last line is JSON: per backend dry_run_cases_per_s, migrate_cases_per_s, cases, migrated.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from engine import clock, services  # noqa: E402
from engine.services import migration  # noqa: E402
from engine.store import Database  # noqa: E402
from engine.store.scratch import scratch_postgres  # noqa: E402
from migration_site import deploy, version  # noqa: E402

T0 = "2026-03-02T09:00:00+08:00"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def measure(db: Database, cases: int, batch: int) -> dict[str, float | int]:
    db.upgrade_schema()
    operator = services.Actor.operator("bench")
    with clock.frozen(T0):
        services.add_user(db, "ana", ["analyst"], "bench", "分析员", actor=operator)
        v1 = deploy(db, version())
        for _ in range(cases):
            services.start_instance(db, "mig", operator, {})
        v2 = deploy(db, version(name_a="受理登记", timer="PT3H"))
        analyst = services.actor_for(db, "ana")
        began = time.perf_counter()
        checks = migration.dry_run(db, v1, v2, {}, analyst)
        dry = time.perf_counter() - began
        assert len(checks) == cases and all(c.safe for c in checks)
        migrated, began = 0, time.perf_counter()
        while True:
            run = migration.migrate_cases(db, v1, v2, {}, analyst, batch=batch)
            migrated += len(run.migrated)
            if not run.migrated or not run.remaining:
                break
        real = time.perf_counter() - began
    assert migrated == cases, f"{migrated} of {cases} migrated"
    return {"cases": cases, "migrated": migrated, "dry_run_cases_per_s": round(cases / dry, 1),
            "migrate_cases_per_s": round(cases / real, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--pg", default=PG_URL)
    parser.add_argument("--no-pg", action="store_true")
    args = parser.parse_args()
    results: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as folder:
        db = Database(f"sqlite:///{folder}/bench.db")
        results["sqlite"] = measure(db, args.cases, args.batch)
        db.dispose()
    print("sqlite", results["sqlite"], flush=True)
    if not args.no_pg:
        with scratch_postgres(args.pg, "bench") as pg:
            results["postgresql"] = measure(pg, args.cases, args.batch)
        print("postgresql", results["postgresql"], flush=True)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
