"""The scheduler on the real clock and in real processes: on time, after downtime, exactly once
across processes, and escalation notices mailed to a local SMTP sink."""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from datetime import datetime, timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Callable

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from engine import clock, notify, services
from engine.scheduler import Scheduler
from engine.services import timers
from engine.store import Database, Event, Outbox
from test_timers import STAFF, TIMER_DIAGRAMS, at, prepare, start

ROOT = Path(__file__).resolve().parents[1]


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out after {timeout} s waiting for {what}"
        time.sleep(0.05)


def fired_events(db: Database) -> list[Event]:
    with db.unit_of_work() as session:
        return list(session.scalars(select(Event).where(Event.type == "timer_fired").order_by(Event.id)))


def reminder_in(db: Database, tmp_path: Path, duration: str) -> Database:
    """pickup_reminder with its 15-minute reminder shortened, deployed now (real clock)."""
    path = tmp_path / "pickup_reminder.bpmn"
    path.write_text((TIMER_DIAGRAMS / "pickup_reminder.bpmn").read_text(encoding="utf-8")
                    .replace("PT15M", duration), encoding="utf-8")
    services.deploy_paths(db, [path], services.Actor.operator())
    for name, group in STAFF.items():
        services.add_user(db, name, [group], actor=services.Actor.operator())
    return db


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class MailSink:
    """A real SMTP server on localhost that keeps what it receives."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: ANN001 - aiosmtpd's hook
        self.messages.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content, policy=default)))
        return "250 OK"

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}?domain=callcentre.test&from=bpmdesk@callcentre.test"


def test_scheduler_fires_within_a_second_of_due_and_mails_the_escalation(empty_db, tmp_path, monkeypatch):
    db = reminder_in(empty_db, tmp_path, "PT2S")
    sink = MailSink()
    sink.controller.start()
    monkeypatch.setenv("BPMDESK_SMTP_URL", sink.url)
    scheduler = Scheduler(db, poll_seconds=30)  # polls cannot help: saves and firings re-arm it
    scheduler.start()
    try:
        time.sleep(0.3)
        cases = []
        for _ in range(8):  # due one after another: each firing must re-arm for the next
            cases.append(services.start_instance(db, "pickup_reminder", services.Actor.operator(), {}))
            time.sleep(0.15)
        wait_until(lambda: len(fired_events(db)) == 8, 10, "eight reminders")
        wait_until(lambda: len(sink.messages) == 16, 10, "sixteen notices mailed")
    finally:
        scheduler.stop()
        sink.controller.stop()
    lags = [datetime.fromisoformat(e.payload["fired_at"]) - datetime.fromisoformat(e.payload["due_at"])
            for e in fired_events(db)]
    assert sorted(e.instance_id for e in fired_events(db)) == cases
    assert all(timedelta(0) < lag < timedelta(seconds=1) for lag in lags), lags
    assert sorted(r for rcpts, _ in sink.messages for r in rcpts) == sorted(
        ["front-desk@callcentre.test", "cs-supervisor@callcentre.test"] * 8)
    mail = sink.messages[0][1]
    assert "「取单」已超时" in mail["Subject"] and "取单超时督办" in mail.get_content()
    with db.unit_of_work() as session:
        assert all(o.sent_at is not None for o in session.scalars(select(Outbox)))


def test_timers_due_during_downtime_fire_once_at_start_up_in_due_order(empty_db):
    db = prepare(empty_db, TIMER_DIAGRAMS)
    first = start(db, "pickup_reminder", at("09:05:00"))  # due 09:20
    second = start(db, "pickup_reminder", at("08:50:00"))  # due 09:05
    third = start(db, "wait_duration", at("08:30:00"))  # due 10:30
    with clock.frozen(at("12:00:00")):  # the server was down from 09:00 to 12:00
        for _ in range(2):  # started, stopped, started again: still once each
            scheduler = Scheduler(db, poll_seconds=0.1)
            scheduler.start()
            wait_until(lambda: len(fired_events(db)) == 3, 15, "the overdue timers")
            time.sleep(0.3)
            scheduler.stop()
    fired = fired_events(db)
    assert [e.instance_id for e in fired] == [second, first, third]  # in due order
    assert [e.payload["due_at"] for e in fired] == [
        "2026-03-02T01:05:00+00:00", "2026-03-02T01:20:00+00:00", "2026-03-02T02:30:00+00:00"]
    assert {e.payload["fired_at"] for e in fired} == {"2026-03-02T04:00:00+00:00"}


def _spawn_scheduler(url: str, cwd: Path) -> subprocess.Popen:
    env = {**os.environ, "BPMDESK_DATABASE_URL": url, "PYTHONUNBUFFERED": "1",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    env.pop("BPMDESK_NOW", None)
    return subprocess.Popen([sys.executable, "-c", "from engine.cli import main; main()", "scheduler",
                             "--poll", "0.2"], cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


@pytest.mark.postgres
def test_two_scheduler_processes_fire_each_timer_exactly_once(empty_db, tmp_path):
    db = reminder_in(empty_db, tmp_path, "PT3S")
    processes = [_spawn_scheduler(db.url, tmp_path) for _ in range(2)]
    try:
        for process in processes:
            assert process.stdout.readline().startswith("scheduler running"), process.stderr.read()
        cases = [services.start_instance(db, "pickup_reminder", services.Actor.operator(), {}) for _ in range(80)]
        wait_until(lambda: len(fired_events(db)) >= len(cases), 60, "all reminders")
        time.sleep(0.5)  # a second firing, if there were one, would show now
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        outputs = [process.communicate(timeout=30)[0] for process in processes]
    per_process = [Counter(int(n) for n in re.findall(r"^fired +case (\d+) ", out, re.M)) for out in outputs]
    assert set(Counter(e.task_id for e in fired_events(db)).values()) == {1}
    assert sorted(e.instance_id for e in fired_events(db)) == cases
    assert sorted(per_process[0] + per_process[1]) == cases  # each case fired by exactly one of them
    if not db.is_sqlite:  # SQLite has one writer at a time, and its lock need not alternate
        assert all(per_process), "both schedulers should have shared the work"
    assert all(process.returncode == 0 for process in processes)


def test_undeliverable_notices_are_kept_and_retried_later(empty_db, monkeypatch):
    db = prepare(empty_db, TIMER_DIAGRAMS)
    start(db, "pickup_reminder")
    with clock.frozen(at("09:15:01")):
        timers.fire_due(db)
    sink = MailSink()  # not listening yet: the mail server is down
    settings = notify.smtp_settings(sink.url)
    with clock.frozen(at("09:15:02")):
        assert notify.send_pending(db, settings) == 0
    with db.unit_of_work() as session:
        rows = list(session.scalars(select(Outbox)))
    assert [(r.attempts, r.sent_at) for r in rows] == [(1, None), (1, None)]
    assert all("Connection refused" in r.last_error or "Errno" in r.last_error for r in rows)
    sink.controller.start()
    try:
        with clock.frozen(at("09:16:00")):
            assert notify.send_pending(db, settings) == 0  # not before its retry time
        with clock.frozen(at("09:17:03")):
            assert notify.send_pending(db, settings) == 2
            assert notify.send_pending(db, settings) == 0
    finally:
        sink.controller.stop()
    assert len(sink.messages) == 2


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def test_the_web_server_fires_timers_while_it_serves(empty_db, tmp_path):
    db = reminder_in(empty_db, tmp_path, "PT2S")
    port = free_port()
    env = {**os.environ, "BPMDESK_DATABASE_URL": db.url,
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    env.pop("BPMDESK_NOW", None)
    code = f"from engine.store import Database; from webui.server import serve; serve(Database(), " \
           f"'127.0.0.1', {port}, 2)"
    server = subprocess.Popen([sys.executable, "-c", code], cwd=tmp_path, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: _answers(f"http://127.0.0.1:{port}/login"), 30, "the web server")
        cases = [services.start_instance(db, "pickup_reminder", services.Actor.operator(), {}) for _ in range(3)]
        wait_until(lambda: len(fired_events(db)) == 3, 15, "the server's schedulers to fire")
        time.sleep(0.5)
    finally:
        server.send_signal(signal.SIGTERM)
        server.communicate(timeout=30)
    assert sorted(e.instance_id for e in fired_events(db)) == cases  # two workers, still once each
