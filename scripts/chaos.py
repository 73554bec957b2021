"""Chaos run, by hand: a bad day for ``bpmdesk serve`` and its schedulers, then an audit of what is left.

    python scripts/chaos.py [--backend sqlite|postgres|both] [--seconds 60] [--max-cases 80]
                            [--workers 3] [--schedulers 2] [--pg URL]

For each backend (a throw-away schema of the local PostgreSQL ``test`` database; a SQLite file on a
small tmpfs mounted for the run), ``bpmdesk serve`` (gunicorn, ``--workers`` processes, each with its
scheduler) and ``--schedulers`` standalone ``bpmdesk scheduler`` processes run a two-step procedure
(答复 → a PT1S timer → 结案) for every case, driven over the JSON API, loopback only:

1. sign-ins: 8 simultaneous sign-ins and 8 simultaneous auditor page views, 3 rounds;
2. load (``--seconds``, at most ``--max-cases`` cases): drivers start cases and race three
   completions of each task (one must win, the others get 409); a reader views pages and signs in.
   Meanwhile, in turn: ``kill -9`` of a web worker, ``kill -9`` of a scheduler (restarted), on
   PostgreSQL ``pg_terminate_backend`` of every server connection, a write lock held for 5 s by
   another connection (SQLite ``BEGIN IMMEDIATE``, PostgreSQL ``LOCK TABLE instance IN EXCLUSIVE
   MODE``) while page views are timed;
3. full disk (SQLite): the tmpfs is filled, the load goes on for a while, the filler is removed;
4. drain, without faults: every open task of every case is completed, every timer must fire;
5. ``SIGTERM`` to the server (seconds until it is gone), then ``bpmdesk audit verify`` and a replay of
   every case compared with its stored state.

Counted: ``lost`` (a 2xx whose effect is not in the database), ``doubled`` (two winners of one race,
a task completed twice, a timer fired twice), ``stuck`` (a case not completed after the drain),
``http_5xx`` by cause: ``db_connection_cut`` (503 "连接中断": the server's database connection was
terminated under the request), ``storage_full`` (503 "存储空间已满" while the disk was full, the
designed answer), ``other`` (must be 0), and ``cut`` (no answer: the worker was killed). Targets:
0 lost, 0 doubled, 0 stuck, 0 other 5xx, audit verify ok, every replay agrees. The last line is JSON.

Bounded: each phase has a deadline; nothing is retried without end; the tmpfs is unmounted and the
schema dropped at the end. Needs root only for the tmpfs (without it the full-disk phase is skipped
and the JSON says why).
"""
from __future__ import annotations

import argparse
import collections
import contextlib
import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import requests
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine import compat, services  # noqa: E402
from engine.demo import ensure_demo_users  # noqa: E402
from engine.store import Database  # noqa: E402
from engine.store.scratch import scratch_postgres  # noqa: E402
from engine.store.trouble import FULL, GONE  # noqa: E402

OPERATOR = services.Actor.operator("chaos")
PG_URL = os.environ.get("BPMDESK_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
STAFF, AUDITOR, PASSWORD = ("frontdesk", "frontdesk2"), "auditor", "demo"
RACERS, DRIVERS = 3, 3
LOCK_SECONDS, FAULT_EVERY = 5.0, 2.5
NOTE = "业户来电反映情况，已记录。" * 300  # ~12 KB of case data: each save needs new pages (the full disk bites)
DISK_CASES = 12  # cases tried while the disk is full and after the space came back
BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="D" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="chaos" name="故障演练" isExecutable="true">
    <bpmn:startEvent id="Begin"/>
    <bpmn:userTask id="Answer" name="Answer" camunda:candidateGroups="front-desk"/>
    <bpmn:intermediateCatchEvent id="Pause">
      <bpmn:timerEventDefinition><bpmn:timeDuration>PT1S</bpmn:timeDuration></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:userTask id="Close" name="Close" camunda:candidateGroups="front-desk"/>
    <bpmn:endEvent id="Done"/>
    <bpmn:sequenceFlow id="F1" sourceRef="Begin" targetRef="Answer"/>
    <bpmn:sequenceFlow id="F2" sourceRef="Answer" targetRef="Pause"/>
    <bpmn:sequenceFlow id="F3" sourceRef="Pause" targetRef="Close"/>
    <bpmn:sequenceFlow id="F4" sourceRef="Close" targetRef="Done"/>
  </bpmn:process>
</bpmn:definitions>
""".encode()


# --- what the run saw -------------------------------------------------------------------------

@dataclass
class Tally:
    """Every answer the clients got, and what was acknowledged (to look for in the database)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    statuses: collections.Counter = field(default_factory=collections.Counter)
    server_errors: collections.Counter = field(default_factory=collections.Counter)
    samples: list[str] = field(default_factory=list)
    started: set[int] = field(default_factory=set)
    winners: collections.Counter = field(default_factory=collections.Counter)
    faults: collections.Counter = field(default_factory=collections.Counter)
    disk_full: bool = False
    began: float = field(default_factory=time.time)
    marks: dict[str, float] = field(default_factory=dict)  # phase name → seconds since ``began``

    def mark(self, phase: str) -> None:
        self.marks[phase] = round(time.time() - self.began, 1)

    def answer(self, status: int | None, body: str, what: str) -> None:
        with self.lock:
            self.statuses["cut" if status is None else str(status)] += 1
            if status is not None and status >= 500:
                cause = ("storage_full" if FULL in body and self.disk_full
                         else "db_connection_cut" if GONE in body else "other")
                self.server_errors[cause] += 1
                if cause == "other" and len(self.samples) < 5:
                    self.samples.append(f"{what}: {status} {body[:200]}")


class Client:
    """One person's signed-in browser session on the JSON API (its own cookies and CSRF token)."""

    def __init__(self, base: str, tally: Tally, user: str):
        self.base, self.tally, self.user = base, tally, user
        self.http = requests.Session()
        self.signed_in = self.sign_in()

    def sign_in(self) -> bool:
        """A fresh sign-in; False when the server did not let this one in (counted)."""
        token = self.call("GET", "/api/csrf")
        if token is None:
            return False
        answer = self.call("POST", "/api/login", {"username": self.user, "password": PASSWORD},
                           headers={"X-CSRFToken": token["csrf_token"]})
        if answer is None:
            return False
        self.http.headers["X-CSRFToken"] = answer["csrf_token"]
        return True

    def call(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None,
             ok: tuple[int, ...] = (200, 201)) -> Any:
        """The JSON answer when the status is one of ``ok``, else None; every answer is counted."""
        try:
            response = self.http.request(method, self.base + path, json=body, headers=headers, timeout=90)
        except requests.RequestException:
            self.tally.answer(None, "", f"{method} {path}")
            return None
        self.tally.answer(response.status_code, response.text, f"{method} {path}")
        if response.status_code not in ok:
            return None
        return response.json() if "json" in response.headers.get("Content-Type", "") else {}

    def page(self, path: str) -> float:
        """Seconds one page view took (its answer counted)."""
        began = time.monotonic()
        self.call("GET", path)
        return time.monotonic() - began


# --- the processes under test ------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def bpmdesk(args: list[str], url: str, folder: Path, **popen: Any) -> subprocess.Popen:
    """A ``bpmdesk`` command on ``url`` as a process of its own group (killed alone, never by name)."""
    env = {**os.environ, "BPMDESK_DATABASE_URL": url, "BPMDESK_SECRET_KEY": "chaos", "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-c", "from engine.cli import main; main()", *args], cwd=folder,
                            env=env, start_new_session=True, **popen)


class Server:
    """``bpmdesk serve --workers N``: its gunicorn master and the worker processes under it."""

    def __init__(self, url: str, workers: int, folder: Path):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = open(folder / "serve.log", "ab")
        self.process = bpmdesk(["serve", "--host", "127.0.0.1", "--port", str(self.port), "--workers", str(workers)],
                               url, folder, stdout=self.log, stderr=subprocess.STDOUT)
        self.expected = workers
        self.wait_ready(90)

    def wait_ready(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            with contextlib.suppress(requests.RequestException):
                if requests.get(self.base + "/api/csrf", timeout=2).status_code == 200 \
                        and len(self.workers()) >= self.expected:
                    return
            time.sleep(0.3)
        raise SystemExit(f"bpmdesk serve did not come up (see {self.log.name})")

    def workers(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        with contextlib.suppress(OSError):
            return [int(pid) for pid in children.read_text().split()]
        return []

    def kill_worker(self) -> bool:
        pids = self.workers()
        if not pids:
            return False
        with contextlib.suppress(ProcessLookupError):
            os.kill(random.choice(pids), signal.SIGKILL)
        return True

    def stop(self) -> float:
        """SIGTERM to the master; seconds until it (and so every worker) is gone."""
        began = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.log.close()
        return round(time.monotonic() - began, 2)


class Schedulers:
    """Standalone ``bpmdesk scheduler`` processes; one killed is replaced by a new one."""

    def __init__(self, url: str, count: int, folder: Path):
        self.url, self.folder = url, folder
        self.log = open(folder / "scheduler.log", "ab")
        self.processes = [self.spawn() for _ in range(count)]

    def spawn(self) -> subprocess.Popen:
        return bpmdesk(["scheduler", "--poll", "0.5"], self.url, self.folder, stdout=self.log, stderr=subprocess.STDOUT)

    def kill_one(self) -> bool:
        if not self.processes:
            return False
        victim = self.processes.pop(random.randrange(len(self.processes)))
        victim.kill()
        victim.wait()
        self.processes.append(self.spawn())
        return True

    def stop(self) -> None:
        for process in self.processes:
            process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        self.log.close()


# --- the backends -------------------------------------------------------------------------------

@dataclass
class Backend:
    """Where one run keeps its data, and the faults only it can have."""

    name: str
    url: str  # what the check in this process uses
    server_url: str  # what the server and schedulers use (PostgreSQL: tagged for pg_terminate_backend)
    hold_lock: Callable[[float], None]
    cut_connections: Callable[[], int] | None = None
    disk: Path | None = None
    disk_note: str = ""


@contextlib.contextmanager
def postgres_backend(url: str) -> Iterator[Backend]:
    tag = f"bpmdesk_chaos_{uuid.uuid4().hex[:8]}"
    with scratch_postgres(url, "chaos") as db:
        admin = create_engine(url, isolation_level="AUTOCOMMIT")

        def cut() -> int:
            with admin.connect() as conn:
                return len(conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                             "WHERE application_name = :tag"), {"tag": tag}).all())

        def hold(seconds: float) -> None:
            with db.engine.connect() as conn, conn.begin():
                conn.execute(text("LOCK TABLE instance IN EXCLUSIVE MODE"))
                time.sleep(seconds)

        try:
            yield Backend("postgres", db.url, f"{db.url}&application_name={tag}", hold, cut,
                          disk_note="not tried: the PostgreSQL server's disk is shared with every engineer")
        finally:
            admin.dispose()


@contextlib.contextmanager
def sqlite_backend(folder: Path) -> Iterator[Backend]:
    disk = folder / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=48m", "tmpfs", str(disk)],
                             capture_output=True, text=True)
    path = disk / "chaos.db"

    def hold(seconds: float) -> None:
        conn = sqlite3.connect(path, isolation_level=None, timeout=30)
        try:
            conn.execute("BEGIN IMMEDIATE")
            time.sleep(seconds)
            conn.execute("ROLLBACK")
        finally:
            conn.close()

    note = "" if mounted.returncode == 0 else f"skipped: tmpfs mount failed ({mounted.stderr.strip()})"
    try:
        yield Backend("sqlite", f"sqlite:///{path}", f"sqlite:///{path}", hold,
                      disk=disk if mounted.returncode == 0 else None, disk_note=note)
    finally:
        if mounted.returncode == 0:
            subprocess.run(["umount", "-l", str(disk)], check=False)


def prepare(url: str) -> None:
    db = Database(url)
    try:
        db.upgrade_schema()
        services.deploy_files(db, [compat.SourceFile("chaos.bpmn", BPMN)], OPERATOR)
        ensure_demo_users(db)
    finally:
        db.dispose()


# --- what the people do --------------------------------------------------------------------------

def open_task(client: Client, case: int, element: str, deadline: float) -> str | None:
    """The open task ``element`` of ``case`` once it is there (reads retried until the deadline)."""
    while time.monotonic() < deadline:
        view = client.call("GET", f"/api/cases/{case}")
        for task in (view or {}).get("open_tasks", []):
            if task["element_id"] == element:
                return task["id"]
        if view and view.get("status") != "running":
            return None
        time.sleep(0.2)
    return None


def race(clients: list[Client], task_id: str, tally: Tally) -> None:
    """The same completion sent by every client at once: one winner, the rest 409."""
    gate = threading.Barrier(len(clients))

    def complete(client: Client) -> None:
        gate.wait()
        if client.call("POST", f"/api/tasks/{task_id}/complete", {"data": {}}, ok=(200,)) is not None:
            with tally.lock:
                tally.winners[task_id] += 1

    threads = [threading.Thread(target=complete, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def drive(clients: list[Client], tally: Tally, until: float, room: threading.Semaphore) -> None:
    """Cases one after another until the time or the case budget is used up."""
    lead = clients[0]
    while time.monotonic() < until and room.acquire(blocking=False):
        started = lead.call("POST", "/api/cases", {"process_id": "chaos", "data": {"note": NOTE}})
        if started is None:
            continue
        case = started["id"]
        with tally.lock:
            tally.started.add(case)
        for element in ("Answer", "Close"):
            task = open_task(lead, case, element, time.monotonic() + 30)
            if task is None:
                break  # left for the drain
            race(clients, task, tally)


def read_pages(client: Client, auditor: Client, stop: threading.Event) -> None:
    """Page views and a sign-in now and then, as the rest of the desk goes on working."""
    rounds = 0
    while not stop.is_set():
        client.page("/")
        auditor.page("/audit/")
        rounds += 1
        if rounds % 10 == 0:
            Client(client.base, client.tally, STAFF[rounds % 2])
        time.sleep(0.2)


def simultaneous_sign_ins(base: str, tally: Tally) -> dict[str, int]:
    """8 sign-ins at once, then 8 auditor page views at once, 3 rounds (the shared chain's race)."""
    results: collections.Counter = collections.Counter()
    auditors = [Client(base, tally, AUDITOR) for _ in range(8)]
    for _ in range(3):
        gate = threading.Barrier(8)

        def sign_in(number: int) -> None:
            gate.wait()
            results["sign_in_ok" if Client(base, tally, STAFF[number % 2]).signed_in else "sign_in_failed"] += 1

        def view(number: int) -> None:
            gate.wait()
            results["audit_view_ok" if auditors[number].call("GET", "/audit/") is not None else "audit_view_failed"] += 1

        for work in (sign_in, view):
            threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
    return dict(results)


# --- the faults ------------------------------------------------------------------------------------

def faults(backend: Backend, server: Server, schedulers: Schedulers, tally: Tally, reader: Client,
           stop: threading.Event, lock_reads: list[float]) -> None:
    """One fault every FAULT_EVERY seconds, in turn, until stopped."""
    def hold_lock() -> bool:
        holder = threading.Thread(target=backend.hold_lock, args=(LOCK_SECONDS,))
        holder.start()
        time.sleep(0.5)
        while holder.is_alive():
            lock_reads.append(reader.page("/"))
        holder.join()
        return True

    kinds: list[tuple[str, Callable[[], Any]]] = [
        ("kill_web_worker", server.kill_worker), ("kill_scheduler", schedulers.kill_one), ("held_write_lock", hold_lock)]
    if backend.cut_connections is not None:
        kinds.append(("pg_terminate_backend", backend.cut_connections))
    turn = 0
    while not stop.wait(FAULT_EVERY):
        name, act = kinds[turn % len(kinds)]
        turn += 1
        if act():
            with tally.lock:
                tally.faults[name] += 1


@contextlib.contextmanager
def full_disk(disk: Path, tally: Tally) -> Iterator[int]:
    """Fill the tmpfs to the last byte for the block; the filler is removed after it."""
    filler = disk / "filler"
    written, out = 0, os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    try:
        for size in (1 << 20, 4096, 1):  # down to the last byte
            with contextlib.suppress(OSError):
                while True:
                    written += os.write(out, b"\0" * size)
    finally:
        os.close(out)
    tally.disk_full = True
    try:
        yield written
    finally:
        filler.unlink()
        time.sleep(1.0)  # answers in flight when the space came back still count as "full"
        tally.disk_full = False


def staff_groups(base: str, tally: Tally) -> list[list[Client]]:
    """DRIVERS groups of RACERS signed-in front-desk sessions (two people, several tabs each)."""
    return [[Client(base, tally, STAFF[n % 2]) for n in range(RACERS)] for _ in range(DRIVERS)]


def load(groups: list[list[Client]], tally: Tally, seconds: float, room: threading.Semaphore) -> None:
    """One driver per group of sessions, for ``seconds`` or until ``room`` has no case left."""
    until = time.monotonic() + seconds
    drivers = [threading.Thread(target=drive, args=(group, tally, until, room)) for group in groups]
    for driver in drivers:
        driver.start()
    for driver in drivers:
        driver.join()


# --- afterwards -----------------------------------------------------------------------------------

def drain(url: str, base: str, tally: Tally, seconds: float = 90) -> None:
    """Every running case is walked to its end without faults (what a cut request left open)."""
    client = Client(base, tally, STAFF[0])
    deadline = time.monotonic() + seconds
    db = Database(url)
    try:
        while time.monotonic() < deadline:
            running = running_cases(db)
            if not running:
                return
            for case in running:
                view = client.call("GET", f"/api/cases/{case}") or {}
                for task in view.get("open_tasks", []):
                    client.call("POST", f"/api/tasks/{task['id']}/complete", {"data": {}}, ok=(200, 409))
            time.sleep(1.0)
    finally:
        db.dispose()


def running_cases(db: Database) -> list[int]:
    with db.engine.connect() as conn:
        return [row[0] for row in conn.execute(text(
            "SELECT id FROM instance WHERE process_id = 'chaos' AND status <> 'completed' ORDER BY id"))]


def findings(url: str, tally: Tally) -> dict[str, Any]:
    """Lost, doubled and stuck, read from the database against what the clients were told."""
    db = Database(url)
    try:
        with db.engine.connect() as conn:
            cases = {row[0]: row[1] for row in conn.execute(text(
                "SELECT id, status FROM instance WHERE process_id = 'chaos'"))}
            completions = collections.Counter(row[0] for row in conn.execute(text(
                "SELECT task_id FROM event WHERE type = 'task_completed'")))
            fired = collections.Counter(row[0] for row in conn.execute(text(
                "SELECT instance_id FROM event WHERE type = 'timer_fired'")))
            timed = [lag for (payload,) in conn.execute(text("SELECT payload FROM event WHERE type = 'timer_fired'"))
                     if (lag := timer_lag(payload, tally.began)) is not None]
            lags = [lag for _, lag in timed]
            failures = [(kind, payload) for kind, payload in conn.execute(text(
                "SELECT type, payload FROM event WHERE type IN ('timer_failed', 'incident') ORDER BY id"))]
        lost = [f"case {c}" for c in tally.started if c not in cases]
        lost += [f"task {t}" for t in tally.winners if completions[t] == 0]
        doubled = [f"task {t} won {n}x" for t, n in tally.winners.items() if n > 1]
        doubled += [f"task {t} completed {n}x" for t, n in completions.items() if n > 1]
        doubled += [f"case {c} timer fired {n}x" for c, n in fired.items() if n > 1]
        stuck = [f"case {c} {status}" for c, status in cases.items() if status != "completed"]
        replays = [services.replay(db, case, OPERATOR) for case in sorted(cases)]
    finally:
        db.dispose()
    return {"cases": len(cases), "cases_acknowledged": len(tally.started), "lost": len(lost),
            "doubled": len(doubled), "stuck": len(stuck), "examples": (lost + doubled + stuck)[:5],
            "replay_agrees": sum(r.agrees for r in replays), "replayed": len(replays),
            "timer_lag_max_s": round(max(lags, default=0.0), 2),
            "timer_lag_p50_s": round(sorted(lags)[len(lags) // 2], 2) if lags else 0.0,
            "timers_late_over_10s": [f"due at +{due:.0f} s, fired {lag:.1f} s late" for due, lag in timed if lag > 10][:5],
            "timer_failures": len(failures), "timer_failure_examples": [
                f"{kind}: {(json.loads(p) if isinstance(p, str) else p).get('message', '')[:160]}"
                for kind, p in failures[:3]]}


def timer_lag(payload: Any, began: float) -> tuple[float, float] | None:
    """When a timer was due (seconds into the run) and how late it fired, from its event."""
    from datetime import datetime

    payload = json.loads(payload) if isinstance(payload, str) else payload
    with contextlib.suppress(KeyError, TypeError, ValueError):
        due, fired = datetime.fromisoformat(payload["due_at"]), datetime.fromisoformat(payload["fired_at"])
        return due.timestamp() - began, (fired - due).total_seconds()
    return None


def audit_verify(url: str, folder: Path) -> dict[str, Any]:
    done = bpmdesk(["audit", "verify"], url, folder, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out, _ = done.communicate(timeout=300)
    return {"exit": done.returncode, "says": out.strip().splitlines()[-1] if out.strip() else ""}


# --- one backend, start to end ------------------------------------------------------------------------

def run_backend(backend: Backend, folder: Path, args: argparse.Namespace) -> dict[str, Any]:
    prepare(backend.url)
    tally = Tally()
    server = Server(backend.server_url, args.workers, folder)
    schedulers = Schedulers(backend.server_url, args.schedulers, folder)
    try:
        result = under_fire(backend, server, schedulers, tally, args)
    finally:  # whatever failed here, nothing of this run is left running
        for group in [server.process, *schedulers.processes]:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group.pid, signal.SIGKILL)
    result.update(findings(backend.url, tally))
    result["audit_verify"] = audit_verify(backend.url, folder)
    result.update(phases_s=tally.marks, faults=dict(tally.faults), answers=dict(tally.statuses),
                  http_5xx=dict(tally.server_errors), other_5xx_examples=tally.samples)
    return result


def under_fire(backend: Backend, server: Server, schedulers: Schedulers, tally: Tally,
               args: argparse.Namespace) -> dict[str, Any]:
    """Phases 1–4 and the server's stop: what the clients saw."""
    result: dict[str, Any] = {"sign_ins": simultaneous_sign_ins(server.base, tally)}
    room = threading.Semaphore(args.max_cases)
    reader, auditor = Client(server.base, tally, STAFF[1]), Client(server.base, tally, AUDITOR)
    stop, lock_reads = threading.Event(), []
    side = [threading.Thread(target=read_pages, args=(reader, auditor, stop)),
            threading.Thread(target=faults, args=(backend, server, schedulers, tally, reader, stop, lock_reads))]
    for thread in side:
        thread.start()
    tally.mark("load")
    load(staff_groups(server.base, tally), tally, args.seconds, room)
    stop.set()
    for thread in side:
        thread.join()
    tally.mark("load_end")
    result["full_disk"] = disk_phase(backend, server, tally)
    server.wait_ready(60)  # a worker killed last is back
    tally.mark("drain")
    drain(backend.url, server.base, tally)
    tally.mark("drain_end")
    result["sigterm_stop_s"] = server.stop()
    schedulers.stop()
    result["read_during_write_lock_max_s"] = round(max(lock_reads, default=0.0), 2)
    return result


def disk_phase(backend: Backend, server: Server, tally: Tally) -> dict[str, Any]:
    """Load while the disk is full, then with the space back: writes refused plainly, reads go on.
    The sessions sign in before (a sign-in is a write too)."""
    if backend.disk is None:
        return {"note": backend.disk_note}
    server.wait_ready(60)
    groups, reader = staff_groups(server.base, tally), Client(server.base, tally, STAFF[1])
    before = collections.Counter(tally.statuses)
    with full_disk(backend.disk, tally) as filled:
        tally.mark("disk_full")
        pages = [reader.page("/") for _ in range(5)]
        load(groups, tally, 8, threading.Semaphore(DISK_CASES))
    during = collections.Counter(tally.statuses) - before
    tally.mark("disk_free")
    load(groups, tally, 8, threading.Semaphore(DISK_CASES))
    return {"filled_mb": round(filled / 2**20, 1), "answers_while_full": dict(during),
            "page_view_while_full_max_s": round(max(pages), 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--seconds", type=float, default=60, help="length of the load with faults, per backend")
    parser.add_argument("--max-cases", type=int, default=80, help="cases started at most, per backend")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn web workers")
    parser.add_argument("--schedulers", type=int, default=2, help="standalone schedulers")
    parser.add_argument("--pg", default=PG_URL, help="PostgreSQL server (loopback) for the scratch schema")
    args = parser.parse_args()
    if "@127.0.0.1" not in args.pg and "@localhost" not in args.pg:
        raise SystemExit("--pg must name a server on this machine (127.0.0.1 or localhost)")
    os.environ.setdefault("BPMDESK_PASSWORD_HASH", "pbkdf2:sha256:1000")  # sign-ins by the dozen
    results: dict[str, Any] = {}
    for name in (("sqlite", "postgres") if args.backend == "both" else (args.backend,)):
        with tempfile.TemporaryDirectory(prefix=f"chaos-{name}-") as tmp:
            folder = Path(tmp)
            opened = postgres_backend(args.pg) if name == "postgres" else sqlite_backend(folder)
            with opened as backend:
                began = time.monotonic()
                results[name] = run_backend(backend, folder, args)
                results[name]["seconds"] = round(time.monotonic() - began, 1)
            print(f"{name}: {json.dumps(results[name], ensure_ascii=False)}", flush=True)
    results["targets_met"] = all(targets_met(r) for r in results.values())
    print(json.dumps(results, ensure_ascii=False))


def targets_met(result: dict[str, Any]) -> bool:
    return (result["lost"] == result["doubled"] == result["stuck"] == 0
            and result["http_5xx"].get("other", 0) == 0 and result["audit_verify"]["exit"] == 0
            and result["replay_agrees"] == result["replayed"])


if __name__ == "__main__":
    main()
