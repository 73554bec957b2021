"""The timer scheduler: APScheduler wakes it at the next due time, never by scanning instances.

Idle, it costs one indexed read per poll (the earliest due time, the earliest start occurrence and
the newest deployment: :func:`engine.services.timers.horizon`), whatever the number of waiting
instances. One APScheduler date job is armed for the earliest due time and re-armed after every
firing. A save in this process that makes something due earlier re-arms it at once (each save
notes its ``next_due_at`` on the session, announced after commit); saves by other processes are
seen by the poll.

While it waits for a due time, it parses the cases falling due within ``timers.AHEAD`` into the
workflow cache (:func:`engine.services.timers.parse_ahead`), stopping when they fall due: a
burst then starts firing with that part of the work already done.

Any number of schedulers may run against one database (each ``bpmdesk serve`` worker runs one,
``bpmdesk scheduler`` runs one alone): the row locks in :mod:`engine.services.timers` make each
timer fire exactly once. Started after downtime, the first poll finds everything that fell due
and fires it at once, in due order.
"""
from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta, timezone
from typing import Callable

from apscheduler.schedulers.background import BackgroundScheduler

from engine import clock, notify, runtime
from engine.services import timers
from engine.store import Database

log = logging.getLogger("bpmdesk.scheduler")
POLL_SECONDS = 1.0
MAIL_SECONDS = 10.0
ERROR_PAUSE_S = 5.0


class Scheduler:
    """Fires due timers and starts due occurrences in this process until :meth:`stop`."""

    def __init__(self, db: Database, *, poll_seconds: float = POLL_SECONDS,
                 on_firing: Callable[[timers.Firing], None] | None = None):
        self.db = db
        self.poll_seconds = poll_seconds
        self.on_firing = on_firing
        self.mail = notify.smtp_settings()
        # Jobs re-arm themselves while still finishing, which APScheduler counts as running: it
        # must allow that, or it would skip the new run. ``_firing`` keeps firings one at a time.
        self._aps = BackgroundScheduler(timezone=timezone.utc, job_defaults={
            "coalesce": True, "max_instances": 3, "misfire_grace_time": None})
        self._lock = threading.Lock()
        self._armed: datetime | None = None  # the due time the fire job is armed for
        self._firing = threading.Lock()
        self._stopping = threading.Event()
        self._latest_definition: int | None = None
        cache = runtime.workflow_cache(db)
        if cache.size > 0:  # room for the cases parsed ahead (0: the cache is switched off)
            cache.size = max(cache.size, timers.AHEAD_MAX)

    # -- life cycle ---------------------------------------------------------------------------------

    def start(self) -> None:
        """Start in background threads; the first poll runs at once (catching up after downtime)."""
        self.db.due_watchers.append(self.nudge)
        self._aps.add_job(self._poll, "date", run_date=datetime.now(timezone.utc), id="poll")
        if self.mail is not None:
            self._aps.add_job(self._send_mail, "interval", seconds=MAIL_SECONDS, id="mail")
        self._aps.start()

    def stop(self) -> None:
        """Stop after the firing in progress (if any) has committed.

        APScheduler's shutdown holds its job store lock while it waits for running jobs, so a job
        touching the job store after that would hang it: jobs touch it only under ``_lock`` and
        only while not stopping, and stopping is declared under ``_lock``."""
        with self._lock:
            self._stopping.set()
        if self.nudge in self.db.due_watchers:
            self.db.due_watchers.remove(self.nudge)
        self._aps.shutdown(wait=True)

    def run_until(self, stop: threading.Event) -> None:
        """Run until ``stop`` is set (``bpmdesk scheduler`` sets it on SIGINT/SIGTERM)."""
        self.start()
        try:
            stop.wait()
        finally:
            self.stop()

    # -- waking ---------------------------------------------------------------------------------------

    def nudge(self, due_at: datetime) -> None:
        """A save in this process made something due at ``due_at``: wake earlier if needed."""
        with self._lock:
            if not self._firing.locked() and (self._armed is None or due_at < self._armed):
                self._arm(due_at)

    def _poll(self) -> None:
        """``_watch``, then again one poll interval after it finished (so polls never pile up)."""
        try:
            self._watch()
        finally:
            with self._lock:
                if not self._stopping.is_set():
                    next_poll = datetime.now(timezone.utc) + timedelta(seconds=self.poll_seconds)
                    self._aps.add_job(self._poll, "date", id="poll", replace_existing=True, run_date=next_poll)

    def _watch(self) -> None:
        """The periodic cheap read: follow new deployments and re-arm for the earliest due time."""
        try:
            seen = timers.horizon(self.db)
            if seen.latest_definition_id != self._latest_definition:
                timers.sync_start_schedules(self.db)
                self._latest_definition = seen.latest_definition_id
                seen = timers.horizon(self.db)
        except Exception:  # noqa: BLE001 - a database hiccup must not stop the scheduler
            log.exception("reading the next due time failed; trying again at the next poll")
            return
        with self._lock:
            if self._stopping.is_set():
                return
            lost = seen.wake_at is not None and self._aps.get_job("fire") is None
            if not self._firing.locked() and (seen.wake_at != self._armed or lost):
                self._arm(seen.wake_at)

    def _arm(self, due_at: datetime | None) -> None:
        """(Re)arm the fire job (caller holds the lock). The delay is measured on the engine clock,
        so a clock fixed by ``BPMDESK_NOW`` never makes it spin."""
        if self._stopping.is_set():
            return
        self._armed = due_at
        if due_at is None:
            if self._aps.get_job("fire") is not None:
                self._aps.remove_job("fire")
            return
        delay = max(timedelta(0), due_at - clock.now())
        now = datetime.now(timezone.utc)
        run_at = now + delay
        self._aps.add_job(self._fire, "date", run_date=run_at, id="fire", replace_existing=True)
        if delay > timedelta(0):  # time to wait: spend it on what will fall due
            self._aps.add_job(self._parse_ahead, "date", run_date=max(now, run_at - timers.AHEAD), id="ahead",
                              replace_existing=True, args=(due_at + timers.AHEAD, run_at))

    # -- work -----------------------------------------------------------------------------------------

    def _parse_ahead(self, until: datetime, fire_at: datetime) -> None:
        """Until the fire job is due (or runs), parse what falls due before ``until``."""
        try:
            timers.parse_ahead(self.db, until, keep_going=lambda: (
                not self._stopping.is_set() and not self._firing.locked()
                and datetime.now(timezone.utc) < fire_at))
        except Exception:  # noqa: BLE001 - only a head start is lost: the firing reads the case itself
            log.exception("parsing cases ahead of their due time failed")

    def _fire(self) -> None:
        if not self._firing.acquire(blocking=False):
            return  # a firing is under way; it reads the next due time when it ends
        try:
            with self._lock:
                self._armed = None
            timers.fire_due(self.db, on_firing=self._report, sync=False,  # _watch syncs on new deployments
                            keep_going=lambda: not self._stopping.is_set())
        except Exception:  # noqa: BLE001 - logged; the next poll tries again
            log.exception("firing due timers failed; trying again shortly")
            self._stopping.wait(ERROR_PAUSE_S)
        finally:
            self._firing.release()
        if self.mail is not None:
            self._send_mail()  # escalation notices go out now, not at the next mail round
        if not self._stopping.is_set():
            self._watch()

    def _report(self, firing: timers.Firing) -> None:
        if self.on_firing is not None:
            self.on_firing(firing)
        if firing.outcome in ("retry", "incident"):
            log.warning("%s %s case %s: %s", firing.outcome, firing.process_id, firing.instance_id,
                        firing.message)

    def _send_mail(self) -> None:
        try:
            notify.send_pending(self.db, self.mail)
        except Exception:  # noqa: BLE001
            log.exception("sending notices failed; trying again later")
