"""Notifications: escalation notices written to the outbox, and the sender that mails them.

A notice is written in the same transaction as the escalation it reports, so it exists exactly when
the escalation does. Sending happens later, outside any instance's transaction: a mail server that
is slow or down never holds up a case. Without ``BPMDESK_SMTP_URL`` notices stay in the outbox
(visible there), and nothing is lost when the URL is set later.

``BPMDESK_SMTP_URL``: ``smtp://[user[:password]@]host[:port][?from=…&domain=…&starttls=1]`` or
``smtps://…`` for TLS from the first byte. A recipient (a user or group name) is mailed at
``name@domain`` (default domain ``localhost``): groups are expected to be mailing lists.
"""
from __future__ import annotations

import logging
import os
import smtplib
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from sqlalchemy import or_, select, update

from engine import clock
from engine.errors import InvalidInput
from engine.store import Database, Outbox

log = logging.getLogger("bpmdesk.notify")
OUTBOX = Outbox.__table__
LEASE = timedelta(minutes=2)  # how long a sender may take before another one retries the notice
MAX_ATTEMPTS = 8
SMTP_TIMEOUT_S = 20


# --- writing notices ---------------------------------------------------------------------------------

def local_time(value: datetime) -> str:
    return value.astimezone(clock.local_tz()).strftime("%Y-%m-%d %H:%M")


@dataclass(frozen=True)
class Escalation:
    """An open task whose deadline passed, and the tasks its boundary timer opened for someone else."""

    instance_id: int
    process_name: str
    task_name: str
    due_at: datetime | None
    responsible: list[str]  # "user:<name>" or "group:<name>"
    escalated_to: list[tuple[str, list[str]]]  # (task name, recipients) for each escalation task


def escalation_notices(escalation: Escalation, now: datetime) -> list[dict[str, Any]]:
    """One outbox row per recipient: the people responsible and the people escalated to."""
    e = escalation
    subject = f"【超时督办】{e.process_name} 案件 {e.instance_id}：「{e.task_name}」已超时"
    lines = [f"案件 {e.instance_id}（{e.process_name}）的任务「{e.task_name}」"
             + (f"应于 {local_time(e.due_at)} 前完成，" if e.due_at else "")
             + "现已超时。",
             f"负责：{describe(e.responsible)}。"]
    lines += [f"督办任务「{name}」已派给：{describe(people)}。" for name, people in e.escalated_to]
    lines.append("请登录 bpmdesk 处理。")
    recipients = dict.fromkeys([*e.responsible, *(r for _, people in e.escalated_to for r in people)])
    return [{"created_at": now, "instance_id": e.instance_id, "recipient": recipient,
             "subject": subject[:400], "body": "\n".join(lines), "attempts": 0}
            for recipient in recipients]


def describe(recipients: list[str]) -> str:
    names = [r.split(":", 1)[1] + ("组" if r.startswith("group:") else "") for r in recipients]
    return "、".join(names) or "（无人）"


# --- sending -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    tls: bool
    starttls: bool
    user: str | None
    password: str | None
    sender: str
    domain: str

    def address(self, recipient: str) -> str:
        return f"{recipient.split(':', 1)[-1]}@{self.domain}"


def smtp_settings(url: str | None = None) -> SmtpSettings | None:
    """Settings from ``BPMDESK_SMTP_URL`` (or ``url``); None when mail is not configured."""
    text = (url if url is not None else os.environ.get("BPMDESK_SMTP_URL", "")).strip()
    if not text:
        return None
    parts = urlsplit(text)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise InvalidInput(f"BPMDESK_SMTP_URL={text!r}: expected smtp://host[:port] or smtps://host[:port]")
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    domain = query.get("domain", "localhost")
    return SmtpSettings(
        host=parts.hostname, port=parts.port or (465 if parts.scheme == "smtps" else 25),
        tls=parts.scheme == "smtps", starttls=query.get("starttls") == "1",
        user=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        sender=query.get("from", f"bpmdesk@{domain}"), domain=domain,
    )


def _claim(db: Database, limit: int) -> list[dict[str, Any]]:
    """Take a lease on notices due for (re)sending, so concurrent senders split them."""
    now = clock.now()
    with db.unit_of_work() as session:
        rows = session.execute(
            select(OUTBOX).where(OUTBOX.c.sent_at.is_(None), OUTBOX.c.attempts < MAX_ATTEMPTS,
                                 or_(OUTBOX.c.next_attempt_at.is_(None), OUTBOX.c.next_attempt_at <= now))
            .order_by(OUTBOX.c.id).limit(limit).with_for_update(skip_locked=True)).mappings().all()
        if rows:
            session.execute(update(OUTBOX).where(OUTBOX.c.id.in_([r["id"] for r in rows]))
                            .values(next_attempt_at=now + LEASE, attempts=OUTBOX.c.attempts + 1))
        return [dict(r) for r in rows]


def _message(settings: SmtpSettings, row: dict[str, Any]) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = settings.address(row["recipient"])
    message["Subject"] = row["subject"]
    message.set_content(row["body"])
    return message


def _connect(settings: SmtpSettings) -> smtplib.SMTP:
    if settings.tls:
        server: smtplib.SMTP = smtplib.SMTP_SSL(settings.host, settings.port, timeout=SMTP_TIMEOUT_S)
    else:
        server = smtplib.SMTP(settings.host, settings.port, timeout=SMTP_TIMEOUT_S)
        if settings.starttls:
            server.starttls()
    if settings.user:
        server.login(settings.user, settings.password or "")
    return server


def _finish(db: Database, row: dict[str, Any], error: str | None) -> None:
    now = clock.now()
    values: dict[str, Any] = {"sent_at": now, "last_error": None, "next_attempt_at": None}
    if error is not None:
        backoff = timedelta(minutes=2 ** min(row["attempts"], 6))
        values = {"last_error": error[:2000], "next_attempt_at": now + backoff}
    with db.unit_of_work() as session:
        session.execute(update(OUTBOX).where(OUTBOX.c.id == row["id"]).values(**values))


def send_pending(db: Database, settings: SmtpSettings | None = None, limit: int = 50) -> int:
    """Mail the notices that are due; returns how many were sent. A failed one is retried later
    with growing pauses and given up after ``MAX_ATTEMPTS`` (its ``last_error`` stays visible)."""
    settings = settings or smtp_settings()
    if settings is None:
        return 0
    rows = _claim(db, limit)
    if not rows:
        return 0
    sent = 0
    try:
        server = _connect(settings)
    except (OSError, smtplib.SMTPException) as exc:
        for row in rows:
            _finish(db, row, f"{type(exc).__name__}: {exc}")
        log.warning("mail server %s:%s unavailable: %s", settings.host, settings.port, exc)
        return 0
    with server:
        for row in rows:
            try:
                server.send_message(_message(settings, row))
            except (OSError, smtplib.SMTPException) as exc:
                _finish(db, row, f"{type(exc).__name__}: {exc}")
                continue
            _finish(db, row, None)
            sent += 1
    return sent
