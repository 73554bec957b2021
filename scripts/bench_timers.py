"""Timer scheduler benchmark: lag from due time to fired, and idle cost against waiting instances.

    python scripts/bench_timers.py [--waiting 100000] [--due 1000] [--db URL] [--schedulers 1]
                                   [--spread 1.0] [--idle-seconds 15]

The process: ``pickup_reminder`` (tests/data/timers), a user task with a 15-minute non-interrupting
reminder; firing it escalates the task, opens a supervisor task and writes two notices — the
heaviest kind of firing the procedures have. One instance is started through the services; the
other waiting instances are copies of its rows (fresh task ids, the due time rewritten in the
workflow state, the task rows and ``next_due_at``), inserted in bulk.

1. idle: 1,000 instances waiting (none due within the run); ``bpmdesk scheduler`` runs as its own
   process and its CPU time (all threads, /proc/PID/task/*/schedstat) is measured for
   ``--idle-seconds``; then the same with ``--waiting`` instances. ``idle_cpu_ratio`` = large ÷ small.
2. burst: with ``--schedulers`` scheduler processes running, ``--due`` more copies are inserted,
   falling due spread evenly over ``--spread`` seconds (0: all at the same instant) a few seconds
   later. Lag = ``fired_at`` − ``due_at`` of each ``timer_fired`` event (``fired_at``: when the
   instance was saved inside its batch); ``visible`` = when its batch's event block was sealed, just
   before commit, − ``due_at``: when anyone could first see it. The burst is watched through a plain
   engine, so watching never holds SQLite's write lock.

A PostgreSQL ``--db`` gets a throw-away schema, dropped afterwards. The last line is JSON.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, insert, select, text
from sqlalchemy.engine import Engine

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine import services  # noqa: E402
from engine.store import Database, Event, HumanTask, Instance, TaskCandidate, WaitingTimer  # noqa: E402
from engine.store.models import EventBlock  # noqa: E402
from engine.store.scratch import scratch_database  # noqa: E402

PROCESS = ROOT / "tests" / "data" / "timers" / "pickup_reminder.bpmn"
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
CHUNK = 2000
SMALL = 1000


class Template:
    """One real waiting instance, as rows to copy with new ids and a new due time."""

    def __init__(self, db: Database, instance_id: int):
        with db.engine.connect() as conn:
            self.instance = dict(conn.execute(
                select(Instance.__table__).where(Instance.id == instance_id)).mappings().one())
            self.tasks = [dict(r) for r in conn.execute(
                select(HumanTask.__table__).where(HumanTask.instance_id == instance_id)).mappings()]
            task_ids = [t["id"] for t in self.tasks]
            self.candidates = [dict(r) for r in conn.execute(
                select(TaskCandidate.__table__).where(TaskCandidate.task_id.in_(task_ids))).mappings()]
            self.timers = [dict(r) for r in conn.execute(
                select(WaitingTimer.__table__).where(WaitingTimer.instance_id == instance_id)).mappings()]
        [timer] = self.timers
        due_text = json.dumps(timer["due_at"].isoformat())[1:-1]
        assert due_text in self.instance["state"], "the timer's due time is not where expected"
        self.state_parts = re.split(f"({UUID.pattern}|{re.escape(due_text)})", self.instance["state"])
        self.due_text = due_text

    def copy(self, instance_id: int, due_at: datetime) -> dict[str, list[dict[str, Any]]]:
        ids: dict[str, str] = {}

        def new(old: str) -> str:
            return ids.setdefault(old, str(uuid.uuid4()))

        due_text = due_at.isoformat()
        state = "".join(due_text if part == self.due_text else new(part) if UUID.fullmatch(part) else part
                        for part in self.state_parts)
        return {
            "instance": [{**self.instance, "id": instance_id, "state": state, "next_due_at": due_at,
                          "lock_version": 1}],
            "human_task": [{**t, "id": new(t["id"]), "instance_id": instance_id, "due_at": due_at}
                           for t in self.tasks],
            "task_candidate": [{**c, "task_id": new(c["task_id"])} for c in self.candidates],
            "waiting_timer": [{**t, "task_id": new(t["task_id"]), "instance_id": instance_id,
                               "due_at": due_at,
                               "attached_to": new(t["attached_to"]) if t["attached_to"] else None}
                              for t in self.timers],
        }


TABLES = {"instance": Instance.__table__, "human_task": HumanTask.__table__,
          "task_candidate": TaskCandidate.__table__, "waiting_timer": WaitingTimer.__table__}


def insert_copies(db: Database, template: Template, due_times: list[datetime]) -> None:
    """Copies with the given due times, in chunks, ids after the current largest."""
    with db.engine.connect() as conn:
        first = (conn.scalar(select(func.max(Instance.id))) or 0) + 1
    for start in range(0, len(due_times), CHUNK):
        rows: dict[str, list[dict[str, Any]]] = {name: [] for name in TABLES}
        for offset, due_at in enumerate(due_times[start:start + CHUNK]):
            for name, items in template.copy(first + start + offset, due_at).items():
                rows[name].extend(items)
        with db.engine.begin() as conn:
            for name, table in TABLES.items():
                conn.execute(insert(table), rows[name])
    if not db.is_sqlite:
        with db.engine.begin() as conn:  # explicit ids bypassed the sequence
            conn.execute(text("SELECT setval(pg_get_serial_sequence('instance', 'id'), "
                              "(SELECT max(id) FROM instance))"))


def scheduler_process(url: str, cwd: Path) -> subprocess.Popen:
    """``bpmdesk scheduler``, its output (a line per firing) in a file: a pipe nobody reads fills up
    and would stop it."""
    env = {**os.environ, "BPMDESK_DATABASE_URL": url, "PYTHONUNBUFFERED": "1",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    env.pop("BPMDESK_NOW", None)
    env.pop("BPMDESK_SMTP_URL", None)
    output = cwd / f"scheduler-{uuid.uuid4().hex[:8]}.log"
    with output.open("w") as sink:
        process = subprocess.Popen([sys.executable, "-c", "from engine.cli import main; main()", "scheduler"],
                                   cwd=cwd, env=env, stdout=sink, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 60
    while not output.read_text().startswith("scheduler running"):
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"scheduler did not start: {output.read_text()[-2000:]}")
        time.sleep(0.1)
    return process


def stop(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()


def cpu_seconds(pid: int) -> float:
    """CPU time of every thread of a process, to the nanosecond (schedstat, not clock ticks)."""
    total = 0
    for stat in Path(f"/proc/{pid}/task").glob("*/schedstat"):
        try:
            total += int(stat.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            pass  # a thread that just ended
    return total / 1e9


def total_cpu_seconds(pid: int) -> float:
    """CPU time of a process including its threads that have ended (clock ticks: for seconds)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def idle_cpu(url: str, cwd: Path, seconds: float) -> float:
    """A scheduler's CPU seconds per wall second while nothing falls due."""
    process = scheduler_process(url, cwd)
    try:
        time.sleep(3)  # first poll, schedule sync and spec parsing are start-up, not idle
        before, started = cpu_seconds(process.pid), time.monotonic()
        time.sleep(seconds)
        return (cpu_seconds(process.pid) - before) / (time.monotonic() - started)
    finally:
        stop(process)


def far_future(count: int) -> list[datetime]:
    base = datetime.now(timezone.utc) + timedelta(days=2)
    return [base + timedelta(seconds=i) for i in range(count)]


def watcher(db: Database) -> Engine:
    """A plain engine for watching the burst: the Database's own SQLite connections begin every
    transaction with BEGIN IMMEDIATE, so polling through them would take the scheduler's write lock."""
    return create_engine(db.url)


def fired_count(reader: Engine) -> int:
    with reader.connect() as conn:
        return conn.scalar(select(func.count()).select_from(Event).where(Event.type == "timer_fired"))


def fired_lags(reader: Engine) -> tuple[list[float], list[float]]:
    """Per ``timer_fired`` event: ``fired_at`` − ``due_at``, and when it became visible (its block
    was sealed, just before commit) − ``due_at``."""
    with reader.connect() as conn:
        events = conn.execute(select(Event.chain, Event.seq, Event.payload)
                              .where(Event.type == "timer_fired")).all()
        sealed = {(chain, seq): at for at, listed in conn.execute(select(EventBlock.at, EventBlock.events))
                  for chain, seq, _ in listed}
    fired, visible = [], []
    for chain, seq, payload in events:
        due = datetime.fromisoformat(payload["due_at"])
        fired.append((datetime.fromisoformat(payload["fired_at"]) - due).total_seconds())
        visible.append((sealed[chain, seq] - due).total_seconds())
    return sorted(fired), sorted(visible)


def percentiles(prefix: str, lags: list[float]) -> dict[str, float]:
    return {f"{prefix}_p50_s": round(lags[len(lags) // 2], 4),
            f"{prefix}_p99_s": round(lags[math.ceil(0.99 * len(lags)) - 1], 4),
            f"{prefix}_max_s": round(lags[-1], 4)}


def burst(db: Database, template: Template, args: argparse.Namespace, cwd: Path) -> dict[str, Any]:
    processes = [scheduler_process(db.url, cwd) for _ in range(args.schedulers)]
    reader = watcher(db)
    try:
        time.sleep(2)
        first_due = datetime.now(timezone.utc) + timedelta(seconds=4)
        step = args.spread / args.due
        insert_copies(db, template, [first_due + timedelta(seconds=i * step) for i in range(args.due)])
        deadline = time.monotonic() + 4 + args.spread + args.timeout
        while (count := fired_count(reader)) < args.due and time.monotonic() < deadline:
            time.sleep(0.25)
        busy = sum(total_cpu_seconds(p.pid) for p in processes)
    finally:
        for process in processes:
            stop(process)
    if count < args.due:
        raise SystemExit(f"only {count} of {args.due} timers fired within the time limit")
    fired, visible = fired_lags(reader)
    reader.dispose()
    return {**percentiles("lag", fired), "lag_min_s": round(fired[0], 4), **percentiles("visible", visible),
            "scheduler_cpu_s": round(busy, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--waiting", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=1000)
    parser.add_argument("--db", help="database URL (default: a temporary SQLite file)")
    parser.add_argument("--schedulers", type=int, default=1, help="scheduler processes in the burst")
    parser.add_argument("--spread", type=float, default=1.0, help="seconds over which the burst falls due")
    parser.add_argument("--idle-seconds", type=float, default=15.0)
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for the burst")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        with scratch_database(args.db, Path(tmp), "bench_timers") as db:
            db.upgrade_schema()
            services.deploy_paths(db, [PROCESS], services.Actor.operator("bench"))
            template = Template(db, services.start_instance(db, "pickup_reminder", services.Actor.operator(), {}))
            small = min(SMALL, args.waiting)
            started = time.perf_counter()
            insert_copies(db, template, far_future(small - 1))
            idle_small = idle_cpu(db.url, Path(tmp), args.idle_seconds)
            print(f"idle with {small} waiting: {idle_small * 1000:.2f} ms CPU per second", flush=True)
            insert_copies(db, template, far_future(args.waiting - small))
            print(f"inserted {args.waiting} waiting instances in {time.perf_counter() - started:.0f} s",
                  flush=True)
            idle_large = idle_cpu(db.url, Path(tmp), args.idle_seconds)
            print(f"idle with {args.waiting} waiting: {idle_large * 1000:.2f} ms CPU per second", flush=True)
            result = burst(db, template, args, Path(tmp))
            print(f"burst of {args.due} due over {args.spread} s with {args.schedulers} scheduler(s): "
                  f"lag p50 {result['lag_p50_s']} s, p99 {result['lag_p99_s']} s, "
                  f"max {result['lag_max_s']} s; visible (committed) p99 {result['visible_p99_s']} s",
                  flush=True)
            print(json.dumps({
                "db": "sqlite" if db.is_sqlite else "postgresql", "waiting": args.waiting, "due": args.due,
                "spread_s": args.spread, "schedulers": args.schedulers, **result,
                "idle_cpu_ms_per_s_small": round(idle_small * 1000, 3),
                "idle_cpu_ms_per_s_large": round(idle_large * 1000, 3),
                "idle_cpu_ratio": round(idle_large / idle_small, 3) if idle_small else None,
                "loadavg_1m": os.getloadavg()[0],
            }))


if __name__ == "__main__":
    main()
