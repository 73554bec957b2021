"""External-task benchmark: throughput of HTTP workers and the hand-over latency of long polling.

    python scripts/bench_external.py [--db URL] [--tasks 400] [--workers 4] [--latency-rounds 30]

Against ``bpmdesk serve`` (gunicorn) with 1 and then 2 web worker processes on PostgreSQL (a
throw-away schema of ``--db``, default the local ``test`` database):

1. throughput: ``--tasks`` cases of a one-step process (start → external task → end) wait; ``--workers``
   threads, each its own HTTP connection and a bearer token, fetch one task at a time
   (``fetchAndLock`` maxTasks 1) and complete it with a variable, as Camunda's clients do, until
   none is left. ``completed_per_s`` = tasks ÷ wall time.
2. latency: one worker waits in a long poll (``asyncResponseTimeout`` 10 s) on an empty topic; the
   benchmark starts a case (its external task is committed at t0) and the worker's response arrives
   at t1. ``handover_ms`` p50/p95/max of t1 − t0 over ``--latency-rounds`` rounds; the case is
   started by this process, not the server's, so the hand-over crosses processes (PostgreSQL NOTIFY).

Baseline: the same process run by bare SpiffWorkflow in memory (create, run to the service task,
complete it), so ``ratio_vs_bare`` says how many times slower a task is end to end over HTTP with
the database. The last line is JSON.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine import compat, runtime, services  # noqa: E402
from engine.actions.external import waiting  # noqa: E402
from engine.services import Actor  # noqa: E402
from engine.services import tokens  # noqa: E402
from engine.store.scratch import scratch_postgres  # noqa: E402

OPERATOR = Actor.operator("bench")
PG_URL = os.environ.get("BPMDESK_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
TOPIC = "bench-pay"
BPMN = f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="D" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="bench_external" name="外部任务基准" isExecutable="true">
    <bpmn:startEvent id="Begin"><bpmn:outgoing>F1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:serviceTask id="Pay" name="打款" camunda:type="external" camunda:topic="{TOPIC}">
      <bpmn:incoming>F1</bpmn:incoming><bpmn:outgoing>F2</bpmn:outgoing></bpmn:serviceTask>
    <bpmn:endEvent id="Done"><bpmn:incoming>F2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="F1" sourceRef="Begin" targetRef="Pay"/>
    <bpmn:sequenceFlow id="F2" sourceRef="Pay" targetRef="Done"/>
  </bpmn:process>
</bpmn:definitions>
""".encode()


def bare_rate(rounds: int = 300) -> float:
    """Cases per second bare SpiffWorkflow runs through the external task, in memory."""
    bundle = compat.load_bundle([compat.SourceFile("bench.bpmn", BPMN)]).processes["bench_external"]
    specs = compat.parse_specs(bundle)
    began = time.perf_counter()
    for _ in range(rounds):
        workflow = runtime.new_workflow(specs)
        workflow.do_engine_steps()
        [task] = waiting(workflow)
        task.data["paid"] = True
        task.complete()
        workflow.do_engine_steps()
        assert workflow.is_completed()
    return rounds / (time.perf_counter() - began)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """``bpmdesk serve --workers N`` as its own process group."""

    def __init__(self, url: str, workers: int, folder: str):
        self.port = free_port()
        env = {**os.environ, "BPMDESK_DATABASE_URL": url, "BPMDESK_SECRET_KEY": "bench", "PYTHONPATH": str(ROOT)}
        self.process = subprocess.Popen(
            [sys.executable, "-c", "from engine.cli import main; main()", "serve", "--host", "127.0.0.1",
             "--port", str(self.port), "--workers", str(workers)],
            cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        self.base = f"http://127.0.0.1:{self.port}/engine-rest"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.base}/version", timeout=1).status_code == 401:
                    return
            except requests.ConnectionError:
                time.sleep(0.2)
        raise SystemExit("bpmdesk serve did not come up")

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(timeout=30)


def fetch(session: requests.Session, base: str, worker: str, wait_ms: int = 0) -> list[dict[str, Any]]:
    answer = session.post(f"{base}/external-task/fetchAndLock", timeout=60, json={
        "workerId": worker, "maxTasks": 1, "asyncResponseTimeout": wait_ms,
        "topics": [{"topicName": TOPIC, "lockDuration": 60000}]})
    answer.raise_for_status()
    return answer.json()


def throughput(db, base: str, token: str, tasks: int, workers: int) -> dict[str, Any]:
    for _ in range(tasks):
        services.start_instance(db, "bench_external", OPERATOR, {"amount": 1})
    done: list[int] = []
    errors: list[str] = []

    def work(number: int) -> None:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token}"
        count = 0
        while True:
            locked = fetch(session, base, f"w{number}")
            if not locked:
                break
            answer = session.post(f"{base}/external-task/{locked[0]['id']}/complete", timeout=60,
                                  json={"workerId": f"w{number}", "variables": {"paid": {"value": True}}})
            if answer.status_code != 204:
                errors.append(f"{answer.status_code} {answer.text[:200]}")
            count += 1
        done.append(count)

    began = time.perf_counter()
    threads = [threading.Thread(target=work, args=(n,)) for n in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - began
    return {"tasks": sum(done), "errors": len(errors), "first_error": errors[0] if errors else None,
            "seconds": round(wall, 2), "completed_per_s": round(sum(done) / wall, 1)}


def latency(db, base: str, token: str, rounds: int) -> dict[str, Any]:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    gaps = []
    for _ in range(rounds):
        got: dict[str, Any] = {}

        def wait() -> None:
            got["tasks"] = fetch(session, base, "waiter", wait_ms=10000)
            got["at"] = time.perf_counter()

        waiter = threading.Thread(target=wait)
        waiter.start()
        time.sleep(0.3)  # the long poll is waiting
        services.start_instance(db, "bench_external", OPERATOR, {"amount": 1})
        committed = time.perf_counter()
        waiter.join()
        if got.get("tasks"):
            gaps.append((got["at"] - committed) * 1000)
            session.post(f"{base}/external-task/{got['tasks'][0]['id']}/complete", timeout=60,
                         json={"workerId": "waiter"})
    gaps.sort()
    p95 = gaps[min(len(gaps) - 1, int(round(0.95 * (len(gaps) - 1))))] if gaps else None
    return {"rounds": rounds, "handed_over": len(gaps), "handover_ms_p50": round(statistics.median(gaps), 1),
            "handover_ms_p95": round(p95, 1), "handover_ms_max": round(gaps[-1], 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default=PG_URL)
    parser.add_argument("--tasks", type=int, default=400)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--latency-rounds", type=int, default=30)
    args = parser.parse_args()
    result: dict[str, Any] = {"bare_cases_per_s": round(bare_rate(), 1)}
    for processes in (1, 2):
        with scratch_postgres(args.db, "bench_ext") as db, tempfile.TemporaryDirectory() as folder:
            db.upgrade_schema()
            services.deploy_files(db, [compat.SourceFile("bench.bpmn", BPMN)], OPERATOR)
            token = tokens.issue_token(db, "bench-worker", ["worker"], actor=OPERATOR).secret
            server = Server(db.url, processes, folder)
            try:
                run = throughput(db, server.base, token, args.tasks, args.workers)
                run.update(latency(db, server.base, token, args.latency_rounds))
            finally:
                server.stop()
        run["ratio_vs_bare"] = round(result["bare_cases_per_s"] / run["completed_per_s"], 1)
        result[f"gunicorn_{processes}"] = run
        print(f"{processes} web worker(s): {json.dumps(run)}", file=sys.stderr)
    result["http_workers"] = args.workers
    print(json.dumps(result))


if __name__ == "__main__":
    main()
