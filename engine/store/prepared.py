"""Statements compiled once per dialect and run on the unit of work's own DBAPI connection.

Every completion and every timer firing runs about a dozen statements. Through SQLAlchemy's
execution machinery (execution context, events, result objects) each costs ~40 µs, several times
what SQLite itself takes, and together they outweighed SpiffWorkflow's own work per step. A
:class:`Prepared` statement keeps what matters of that machinery and drops the rest: the SQL is
compiled by SQLAlchemy for the dialect (quoting, casts, RETURNING), and values still pass through
the column types' own bind and result processors, so what is written and read here is exactly
what the ORM writes and reads. It runs inside the Session's transaction, on the same connection.
It reads three private SQLAlchemy attributes (``TypeEngine._cached_bind_processor`` and
``_cached_result_processor``, ``UpdateBase._returning``), so pyproject.toml pins SQLAlchemy to the
minor version they were written against (2.1); ``tests/test_prepared.py`` checks them on both
backends before a newer minor may be allowed.

On PostgreSQL (psycopg, for an engine given to :func:`pipeline_writes`) the writes of a
transaction do not wait for the server: they queue in a psycopg pipeline, the server works through
them while Python goes on, and a firing waits for the server once (at its first read) instead of
at each of its half-dozen statements, each a round trip of 60-300 µs. The queue is synced (every
result waited for, the first error raised) before any read needs it, before any statement
SQLAlchemy runs on the connection, and before commit; a row count that must match
(:meth:`Prepared.run_expecting`, the version-checked instance update) is checked then, so a
conflict is still raised before the transaction commits. An error may therefore surface on a later
statement of the same transaction than the one that caused it; the transaction fails all the same.
"""
from __future__ import annotations

import contextlib
import weakref
from collections import namedtuple
from typing import Any, Iterable, Sequence

from sqlalchemy import event
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import Executable

_CHANNEL = "bpmdesk.prepared_channel"
_PIPELINED: weakref.WeakSet[Engine] = weakref.WeakSet()


def pipeline_writes(engine: Engine) -> None:
    """Let Prepared writes on this engine's connections queue in a pipeline (psycopg only; other
    drivers, or a libpq without pipeline mode, run each statement at once). Listeners sync the
    pipeline before SQLAlchemy runs a statement or commits, and drop it before a rollback."""
    dialect = engine.dialect
    supported = dialect.driver == "psycopg" and dialect.loaded_dbapi.Pipeline.is_supported()
    if engine in _PIPELINED or not supported:
        return
    _PIPELINED.add(engine)
    event.listen(engine, "before_cursor_execute", _sync_before_execute)
    event.listen(engine, "commit", _sync_before_commit)
    event.listen(engine, "rollback", _drop_before_rollback)


def _sync_before_execute(conn: Connection, *_args: Any) -> None:
    """SQLAlchemy reads results at once, and its statement may depend on the queued ones."""
    channel = conn.info.get(_CHANNEL)
    if channel is not None:
        channel.sync()


def _sync_before_commit(conn: Connection) -> None:
    """Queued writes fail, or a checked row count does not match, before COMMIT is sent."""
    channel = conn.info.pop(_CHANNEL, None)
    if channel is not None:
        channel.settle()


def _drop_before_rollback(conn: Connection) -> None:
    channel = conn.info.pop(_CHANNEL, None)
    if channel is not None:
        channel.drop()


def settle(session: Session) -> None:
    """Step 3 of a commit (engine/store/unit_of_work.py): the transaction's queued writes are
    waited for, and any that failed, or a row count that does not match, raises before COMMIT."""
    channel = session.info.pop(_CHANNEL, None)
    if channel is not None and channel.pipelined:
        session.connection().info.pop(_CHANNEL, None)
        channel.settle()


class _Channel:
    """One transaction's way to its DBAPI connection: a cursor for statements whose results are
    not read, and on a pipelined engine the pipeline that writes queue in."""

    def __init__(self, connection: Connection):
        self.dialect: Dialect = connection.dialect
        self.error: type[Exception] = self.dialect.loaded_dbapi.Error
        self.driver = connection.connection.driver_connection
        self.cursor = self.driver.cursor()
        self.pipelined = connection.engine in _PIPELINED
        self.pipeline: contextlib.ExitStack | None = None  # open while statements are queued
        self.checks: list[tuple[Any, int, Exception]] = []
        if self.pipelined:
            connection.info[_CHANNEL] = self

    def writer(self, own_cursor: bool = False) -> Any:
        """The cursor for a write, queued in the pipeline (opened now if need be). ``own_cursor``:
        for a write whose row count is read later (in a pipeline, results land on their cursor
        as they arrive, so a shared one would hold another statement's)."""
        if not self.pipelined:
            return self.cursor
        if self.pipeline is None:
            self.pipeline = contextlib.ExitStack()
            self.pipeline.enter_context(self.driver.pipeline())
        return self.driver.cursor() if own_cursor else self.cursor

    def reader(self) -> Any:
        """The cursor for a statement whose result is read: in a pipeline one of its own (see
        ``writer``); reading it waits for the statements queued before it."""
        return self.cursor if self.pipeline is None else self.driver.cursor()

    def read(self, compiled: _Compiled, parameters: Any) -> list[Any]:
        cursor = self.reader()
        try:
            cursor.execute(compiled.sql, parameters)
            return compiled.rows(cursor)  # in a pipeline, also where a statement queued before fails
        except self.error as exc:
            raise self._translated(exc, compiled.sql, parameters) from exc

    def write(self, sql: str, parameters: Any, many: bool = False, own_cursor: bool = False) -> Any:
        """Send a write (queued, in a pipeline); returns the cursor its result lands on."""
        cursor = self.writer(own_cursor)
        try:
            (cursor.executemany if many else cursor.execute)(sql, parameters)
        except self.error as exc:
            raise self._translated(exc, sql, parameters) from exc
        return cursor

    def write_expecting(self, sql: str, parameters: Any, rows: int, error: Exception) -> None:
        """A write that must change ``rows`` rows, else ``error`` is raised: now, or when the
        pipeline it waits in is synced."""
        cursor = self.write(sql, parameters, own_cursor=True)
        if self.pipeline is not None:
            self.checks.append((cursor, rows, error))
        elif cursor.rowcount != rows:
            raise error

    def _translated(self, exc: Exception, sql: str, parameters: Any) -> DBAPIError:
        """The driver's error as SQLAlchemy's (IntegrityError, OperationalError …), as callers
        expect from any other statement. In a pipeline it may come from a statement queued before."""
        return DBAPIError.instance(sql, parameters, exc, self.error)

    def _close_pipeline(self, pipeline: contextlib.ExitStack) -> None:
        """Send a sync, wait for every result, leave pipeline mode; the first error is raised."""
        try:
            pipeline.close()
        except self.error as exc:
            raise self._translated(exc, "(statements queued in a pipeline)", None) from exc

    def sync(self) -> None:
        """Wait for every queued statement and leave pipeline mode; raise the first error, then the
        error of any row count that did not match."""
        if self.pipeline is None:
            return
        pipeline, self.pipeline = self.pipeline, None
        checks, self.checks = self.checks, []
        self._close_pipeline(pipeline)
        for cursor, rows, error in checks:
            if cursor.rowcount != rows:
                raise error

    def settle(self) -> None:
        """``sync`` before commit; if that fails, roll back here: SQLAlchemy rolls back no
        transaction whose commit failed (a failed COMMIT has ended it on the server), so this
        one would stay open, its writes to be committed by the next unit of work."""
        try:
            self.sync()
        except BaseException:
            self.driver.rollback()
            raise

    def drop(self) -> None:
        """Leave pipeline mode, whatever the queued statements did: the transaction rolls back."""
        pipeline, self.pipeline, self.checks = self.pipeline, None, []
        if pipeline is not None:
            with contextlib.suppress(DBAPIError):
                self._close_pipeline(pipeline)


_MISSING = object()


class _Compiled:
    """One statement compiled for one dialect: its SQL, and a plan for its parameters (which
    value goes where, through which type processor) and result columns, worked out once."""

    def __init__(self, statement: Any, dialect: Dialect, columns: Sequence[str] | None):
        # as for executemany: an insert then returns only what it names in RETURNING, not also the
        # new primary key, which PostgreSQL would otherwise send back for every row
        compiled = statement.compile(dialect=dialect, column_keys=columns, for_executemany=True)
        if any(bind.expanding for bind in compiled.binds.values()):
            raise ValueError("expanding (IN list) parameters cannot be prepared")
        self.sql = compiled.string
        escaped = compiled.escaped_bind_names
        plan = {}
        for bind, name in compiled.bind_names.items():
            literal = _MISSING if bind.required else bind.effective_value
            plan[escaped.get(name, name)] = (bind.key, literal, bind.type._cached_bind_processor(dialect))
        order = compiled.positiontup if compiled.positional else list(plan)
        self.positional = compiled.positional
        self.plan = [(name, *plan[name]) for name in order]
        columns_read = getattr(statement, "selected_columns", None)
        if columns_read is None and getattr(statement, "_returning", None):
            columns_read = statement._returning
        self.results = [column.type._cached_result_processor(dialect, None) for column in columns_read or ()]
        self.row_type: Any = None

    def parameters(self, values: dict[str, Any]) -> Any:
        bound = []
        for _name, key, literal, processor in self.plan:
            value = values.get(key, literal)
            if value is _MISSING:
                raise KeyError(f"a value is required for {key!r} in: {self.sql}")
            bound.append(value if processor is None or value is None else processor(value))
        return bound if self.positional else {entry[0]: value for entry, value in zip(self.plan, bound)}

    def rows(self, cursor: Any) -> list[Any]:
        fetched = cursor.fetchall()
        if self.row_type is None:
            self.row_type = namedtuple("Row", [d[0] for d in cursor.description], rename=True)  # type: ignore[misc]
        processors = self.results
        if not any(processors):
            return [self.row_type._make(row) for row in fetched]
        return [self.row_type._make([value if f is None or value is None else f(value)
                                     for f, value in zip(processors, row)]) for row in fetched]


class Prepared:
    """A Core statement (select, insert, update, delete) for the hot path.

    ``all``/``first`` return named tuples (``row.name``, ``row._asdict()``); ``run`` changes rows
    (queued, on a pipelined engine); ``run_expecting`` too, and raises if the rows it changed are
    not as many as expected; ``run_many`` executes once per parameter set. An insert names the
    ``columns`` it sets (the others take their defaults, an id its next value).
    """

    def __init__(self, statement: Executable, columns: Sequence[str] | None = None):
        self.statement = statement
        self.columns = list(columns) if columns is not None else None
        self._by_dialect: dict[str, _Compiled] = {}

    def _for(self, session: Session) -> tuple[_Compiled, _Channel]:
        channel = session.info.get(_CHANNEL)
        if channel is None:  # the first statement of this transaction
            channel = session.info[_CHANNEL] = _Channel(session.connection())
        compiled = self._by_dialect.get(channel.dialect.name)
        if compiled is None:
            compiled = self._by_dialect[channel.dialect.name] = _Compiled(self.statement, channel.dialect,
                                                                          self.columns)
        return compiled, channel

    def all(self, session: Session, **values: Any) -> list[Any]:
        compiled, channel = self._for(session)
        return channel.read(compiled, compiled.parameters(values))

    def first(self, session: Session, **values: Any) -> Any | None:
        rows = self.all(session, **values)
        return rows[0] if rows else None

    def run(self, session: Session, **values: Any) -> None:
        compiled, channel = self._for(session)
        channel.write(compiled.sql, compiled.parameters(values))

    def run_expecting(self, session: Session, rows: int, error: Exception, **values: Any) -> None:
        """Run, and raise ``error`` unless exactly ``rows`` rows changed: at once, or (queued)
        when the pipeline is synced, at the latest before the transaction commits."""
        compiled, channel = self._for(session)
        channel.write_expecting(compiled.sql, compiled.parameters(values), rows, error)

    def run_many(self, session: Session, rows: Iterable[dict[str, Any]]) -> None:
        compiled, channel = self._for(session)
        parameters = [compiled.parameters(row) for row in rows]
        if len(parameters) == 1:  # a driver's executemany of one row costs twice its execute
            channel.write(compiled.sql, parameters[0])
        elif parameters:
            channel.write(compiled.sql, parameters, many=True)
