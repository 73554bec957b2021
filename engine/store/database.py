"""The Database: one SQLAlchemy engine, units of work, schema upgrades, and the spec cache."""
from __future__ import annotations

import contextlib
import os
import select
import threading
from pathlib import Path
from datetime import datetime
from typing import Any, Callable, Iterator

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from engine.store.prepared import pipeline_writes
from engine.store.unit_of_work import begin

MIGRATIONS = Path(__file__).with_name("migrations")
READ_ONLY = "bpmdesk_read_only"


def default_url() -> str:
    """``BPMDESK_DATABASE_URL``, else a SQLite file under ``var/`` of the working directory."""
    url = os.environ.get("BPMDESK_DATABASE_URL", "").strip()
    if url:
        return url
    Path("var").mkdir(exist_ok=True)
    return f"sqlite:///{Path('var/bpmdesk.db').resolve()}"


def _tune_sqlite(engine: Engine) -> None:
    """WAL lets readers run beside the writer; busy_timeout makes writers queue, not fail."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # let SQLAlchemy's BEGIN below control transactions
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA cache_size=-65536")  # 64 MiB: an inbox index stays in memory
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # IMMEDIATE takes the write lock up front, so two writers queue instead of deadlocking;
        # a reading unit of work takes no lock and never waits for writers (WAL snapshot)
        reading = conn.info.get(READ_ONLY, False)
        conn.connection.driver_connection.execute("BEGIN" if reading else "BEGIN IMMEDIATE")


STATEMENT_TIMEOUT_ENV = "BPMDESK_STATEMENT_TIMEOUT"


def statement_timeout() -> float:
    """Seconds a PostgreSQL statement may run before the server cancels it (0 = no limit)."""
    text = os.environ.get(STATEMENT_TIMEOUT_ENV, "").strip()
    try:
        return max(0.0, float(text)) if text else 60.0
    except ValueError:
        raise ValueError(f"{STATEMENT_TIMEOUT_ENV}={text!r} is not a number of seconds") from None


def _tune_postgres(engine: Engine) -> None:
    """A statement stuck behind a lock or a runaway query is cancelled instead of holding a
    worker for ever; the transaction then fails like any other error and is rolled back."""
    timeout_ms = int(statement_timeout() * 1000)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        with dbapi_conn.cursor() as cursor:
            cursor.execute(f"SET statement_timeout = {timeout_ms}")
        dbapi_conn.commit()


class Database:
    """Where instances live. ``unit_of_work()`` is the only way services touch rows."""

    def __init__(self, url: str | None = None):
        self.url = url or default_url()
        self.is_sqlite = self.url.startswith("sqlite")
        options: dict[str, Any] = {"future": True}
        if not self.is_sqlite:
            options.update(pool_pre_ping=True, pool_size=10, max_overflow=20)
        self.engine = create_engine(self.url, **options)
        if self.is_sqlite:
            _tune_sqlite(self.engine)
        else:
            _tune_postgres(self.engine)
            pipeline_writes(self.engine)
        self._held = threading.local()
        self.spec_cache: dict[int, Any] = {}
        self.workflow_cache: Any = None  # engine.runtime.WorkflowCache, made on first use
        #: told the earliest due time each committed unit of work saved (this process's schedulers)
        self.due_watchers: list[Callable[[datetime], None]] = []

    @contextlib.contextmanager
    def unit_of_work(self, read_only: bool = False) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back on any error.

        The session belongs to a :class:`~engine.store.unit_of_work.UnitOfWork` (``unit_of(session)``),
        whose ``commit()`` shows the order of a commit. ``read_only``: the work only reads (an inbox
        page); on SQLite it then queues behind no writer.
        """
        connection, own = self._connection()
        connection.info[READ_ONLY] = read_only
        session = Session(bind=connection, expire_on_commit=False)
        try:
            work = begin(session, self)
            yield session
            work.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()
            if own:
                connection.close()

    def _connection(self) -> tuple[Connection, bool]:
        """This thread's connection, held between its units of work: taking one from the pool and
        giving it back costs more than most statements of a step. A unit of work started inside
        another one gets its own (``True``: close it after)."""
        held: _Held | None = getattr(self._held, "it", None)
        if held is not None and held.usable():
            if not held.connection.in_transaction():
                return held.connection, False
            return self.engine.connect(), True
        if held is not None:
            held.close()
        self._held.it = _Held(self.engine.connect())
        return self._held.it.connection, False

    def upgrade_schema(self) -> None:
        """Create or upgrade the schema to the newest migration (idempotent)."""
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["engine"] = self.engine
        if self.is_sqlite:
            command.upgrade(config, "head")
            return
        with self.engine.begin() as conn:  # several workers may start at once: one migrates
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(4242)")
            config.attributes["connection"] = conn
            command.upgrade(config, "head")

    def dispose(self) -> None:
        held: _Held | None = getattr(self._held, "it", None)
        if held is not None:
            held.close()
            self._held.it = None
        self.engine.dispose()


class _Held:
    """A thread's connection; given back to the pool when the thread (or the Database) is gone."""

    def __init__(self, connection: Connection):
        self.connection = connection

    def usable(self) -> bool:
        """Still open, and not dropped by the server while held (the pool's pre-ping covers only
        connections taken from the pool): a backend the server ended has sent its last word, so
        an idle connection with something to read is gone. Costs a poll, not a round trip."""
        connection = self.connection
        if connection.closed or connection.invalidated:
            return False
        if connection.dialect.name == "postgresql" and _readable(connection.connection.driver_connection):
            connection.invalidate()
            return False
        return True

    def close(self) -> None:
        if not self.connection.closed:
            self.connection.close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()


def _readable(driver_connection: Any) -> bool:
    with contextlib.suppress(Exception):
        return bool(select.select([driver_connection.fileno()], [], [], 0)[0])
    return True  # no socket to poll: it is closed
