"""``bpmdesk serve``: the staff inbox under gunicorn, with the timer scheduler in every worker.

Each worker process builds its own app (``webui.create_app``) and runs a scheduler on that app's
Database, so a save made by a request re-arms the scheduler of the same process at once; the
workers share the firing through row locks (see :mod:`engine.scheduler`), so a timer still fires
once. Without gunicorn (not installed) werkzeug's threaded server runs one process instead.
"""
from __future__ import annotations

import gc
import logging
import os
import sys
from typing import Any

from flask import Flask

from engine import limits, watchdog
from engine.scheduler import Scheduler
from engine.store import Database
from webui import create_app

log = logging.getLogger("bpmdesk.server")
THREADS_PER_WORKER = 4

_scheduler: Scheduler | None = None  # the one of this worker process


def _app_with_scheduler(database_url: str) -> Flask:
    """The app of one process, its scheduler started on the app's own Database."""
    global _scheduler
    watchdog.guard_process()  # memory cap, and an end to a step stuck in C code
    app = create_app({"DATABASE_URL": database_url})
    _scheduler = Scheduler(app.extensions["bpmdesk.db"])
    _scheduler.start()
    return app


def _stop_scheduler() -> None:
    global _scheduler
    if _scheduler is not None:
        _scheduler.stop()
        _scheduler.db.dispose()
        _scheduler = None


def _worker_exit(_server: Any, _worker: Any) -> None:  # gunicorn's hook signature
    """Stop the scheduler, then end the worker without the interpreter's finalisation: its last
    garbage collection of a worker's heap (parsed diagrams, cached cases) took seconds, past
    ``BPMDESK_SHUTDOWN_SECONDS``, and gunicorn then killed the worker. Nothing is left to finish:
    no request runs (gunicorn calls this after its last one), the scheduler has stopped and the
    database connections are closed. The exit status stays the one gunicorn was exiting with."""
    _stop_scheduler()
    leaving = sys.exc_info()[1]
    code = leaving.code if isinstance(leaving, SystemExit) and isinstance(leaving.code, int) else 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _log_to_stderr() -> None:
    """Retries, incidents and scheduler trouble show in the server's output."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    logger = logging.getLogger("bpmdesk")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)


def serve(db: Database, host: str, port: int, workers: int) -> None:
    """Serve until stopped; the schema is brought up to date first."""
    _log_to_stderr()
    db.upgrade_schema()
    try:
        from gunicorn.app.base import BaseApplication
    except ImportError:
        log.warning("gunicorn is not installed: serving with werkzeug's threaded server, one process")
        _serve_werkzeug(db.url, host, port)
        return

    class _Gunicorn(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            for key, value in {
                "bind": f"{host}:{port}", "workers": max(1, workers), "worker_class": "gthread",
                "threads": THREADS_PER_WORKER, "worker_exit": _worker_exit,
                "graceful_timeout": max(1, round(limits.seconds(limits.SHUTDOWN_SECONDS))), "accesslog": "-",
            }.items():
                self.cfg.set(key, value)

        def load(self) -> Flask:  # called in each worker, after the fork
            return _app_with_scheduler(db.url)

    gc.freeze()  # what the master imported is never collected: its exit took seconds of garbage collection
    _Gunicorn().run()


def _serve_werkzeug(database_url: str, host: str, port: int) -> None:
    from werkzeug.serving import run_simple

    app = _app_with_scheduler(database_url)
    try:
        run_simple(host, port, app, threaded=True, use_reloader=False)
    finally:
        _stop_scheduler()
