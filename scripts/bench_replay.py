"""Replay and verification speed on a history of finished P1 complaints.

The cases are made through the service layer (tests/complaint_walks.py): full walks along random
paths (reminder timers, escalations, records sent back, delegations, cancellations) plus cases
settled at the counter, until ``--instances`` finished cases exist. Then every finished case is
replayed from its events and compared with its stored state, and `audit verify` is timed at four
sizes of the history, to show that its cost per event stays flat (linear growth).

    .venv/bin/python scripts/bench_replay.py [--instances 1000] [--db URL]

The last line is JSON: replay_inst_per_s, verify_events_per_s, verify_points ([events, seconds] at
each size), verify_cost_ratio (cost per event at the largest size over the smallest; ~1 = linear),
replayed, agreeing.
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

from sqlalchemy import func, select  # noqa: E402

from complaint_walks import complaint_desk, quick_complaints, walk_complaints  # noqa: E402
from engine import services  # noqa: E402
from engine.store import Database, Event, Instance  # noqa: E402

FULL_WALK_SHARE = 0.6  # of the finished cases; the rest are settled at the counter
SIZES = 4


def finished(db: Database) -> list[int]:
    with db.unit_of_work() as session:
        return list(session.scalars(select(Instance.id).where(
            Instance.status.in_(("completed", "cancelled"))).order_by(Instance.id)))


def time_verify(db: Database) -> tuple[int, float]:
    """(events, fastest of five runs) for `audit verify` on the history as it is: the fastest run
    is the one least disturbed by whatever else the machine is doing."""
    seconds = []
    for _ in range(5):
        began = time.perf_counter()
        report = services.verify_history(db, services.Actor.operator())
        seconds.append(time.perf_counter() - began)
        assert report.ok, report.problems[:3]
    return report.events, min(seconds)


def grow(db: Database, target: int, day: int) -> None:
    """Full walks, then counter cases, until ``target`` cases have finished (about 3:2)."""
    walks = round((target - len(finished(db))) * FULL_WALK_SHARE)
    walk_complaints(db, walks, seed=day, start=f"2026-03-{day:02d}T09:00:00")
    quick_complaints(db, max(0, target - len(finished(db))), seed=day + 100, start=f"2026-03-{day:02d}T20:00:00")


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--instances", type=int, default=1000, help="finished cases to replay")
    options.add_argument("--db", help="database URL (default: a fresh SQLite file)")
    args = options.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        db = complaint_desk(args.db or f"sqlite:///{folder}/bench.db")
        points = []
        began = time.perf_counter()
        for size in range(1, SIZES + 1):
            grow(db, args.instances * size // SIZES, day=2 + 7 * (size - 1))
            points.append(time_verify(db))
            print(f"{len(finished(db))} finished cases, {points[-1][0]} events: verify {points[-1][1]:.3f} s",
                  flush=True)
        made = time.perf_counter() - began
        cases = finished(db)[:args.instances]
        began = time.perf_counter()
        results = [services.replay(db, case, services.Actor.operator()) for case in cases]
        replay_seconds = time.perf_counter() - began
        with db.unit_of_work() as session:
            replayed_events = session.scalar(select(func.count()).where(Event.instance_id.in_(cases)))
        db.dispose()
    agreeing = sum(r.agrees for r in results)
    for result in [r for r in results if not r.agrees][:5]:
        print(f"  case {result.instance_id} diverges: {result.divergence}")
    per_event = [seconds / events for events, seconds in points]
    events, seconds = points[-1]
    print(f"made {len(cases)} finished cases in {made:.0f} s; replayed them ({replayed_events} events) in "
          f"{replay_seconds:.1f} s: {len(cases) / replay_seconds:.1f} instances/s, {agreeing} agree")
    print("verify: " + ", ".join(f"{e} events {s:.3f} s" for e, s in points)
          + f"; cost per event at the largest size / smallest: {per_event[-1] / per_event[0]:.2f}")
    print(json.dumps({"replay_inst_per_s": round(len(cases) / replay_seconds, 1),
                      "verify_events_per_s": round(events / seconds),
                      "verify_points": [[e, round(s, 4)] for e, s in points],
                      "verify_cost_ratio": round(per_event[-1] / per_event[0], 3),
                      "replayed": len(cases), "agreeing": agreeing}))


if __name__ == "__main__":
    main()
