"""Statements compiled once per dialect and run on the unit of work's own DBAPI cursor.

Every completion and every timer firing runs about a dozen statements. Through SQLAlchemy's
execution machinery (execution context, events, result objects) each costs ~40 µs, several times
what SQLite itself takes, and together they outweighed SpiffWorkflow's own work per step. A
:class:`Prepared` statement keeps what matters of that machinery and drops the rest: the SQL is
compiled by SQLAlchemy for the dialect (quoting, casts, RETURNING), and values still pass through
the column types' own bind and result processors, so what is written and read here is exactly
what the ORM writes and reads. It runs inside the Session's transaction, on the same connection.
"""
from __future__ import annotations

from collections import namedtuple
from typing import Any, Iterable, Sequence

from sqlalchemy import event
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import Executable

_CURSOR = "bpmdesk.prepared_cursor"


@event.listens_for(Session, "after_transaction_end")
def _forget_cursor(session: Session, transaction: Any) -> None:
    """A cursor serves one transaction: the next unit of work may run on another connection."""
    if transaction.parent is None:
        session.info.pop(_CURSOR, None)


_MISSING = object()


class _Compiled:
    """One statement compiled for one dialect: its SQL, and a plan for its parameters (which
    value goes where, through which type processor) and result columns, worked out once."""

    def __init__(self, statement: Any, dialect: Dialect, columns: Sequence[str] | None):
        compiled = statement.compile(dialect=dialect, column_keys=columns)
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

    ``all``/``first`` return named tuples (``row.name``, ``row._asdict()``); ``run`` returns the
    number of rows changed; ``run_many`` executes once per parameter set. An insert names the
    ``columns`` it sets (the others take their defaults, an id its next value).
    """

    def __init__(self, statement: Executable, columns: Sequence[str] | None = None):
        self.statement = statement
        self.columns = list(columns) if columns is not None else None
        self._by_dialect: dict[str, _Compiled] = {}

    def _for(self, session: Session) -> tuple[_Compiled, Any]:
        cursor = session.info.get(_CURSOR)
        if cursor is None:  # the first statement of this transaction
            connection = session.connection()
            cursor = session.info[_CURSOR] = (connection.dialect, connection.connection.driver_connection.cursor())
        dialect, cursor = cursor
        compiled = self._by_dialect.get(dialect.name)
        if compiled is None:
            compiled = self._by_dialect[dialect.name] = _Compiled(self.statement, dialect, self.columns)
        return compiled, cursor

    def all(self, session: Session, **values: Any) -> list[Any]:
        compiled, cursor = self._for(session)
        self._execute(session, cursor.execute, compiled.sql, compiled.parameters(values))
        return compiled.rows(cursor)

    def first(self, session: Session, **values: Any) -> Any | None:
        rows = self.all(session, **values)
        return rows[0] if rows else None

    def run(self, session: Session, **values: Any) -> int:
        compiled, cursor = self._for(session)
        self._execute(session, cursor.execute, compiled.sql, compiled.parameters(values))
        return cursor.rowcount

    def run_many(self, session: Session, rows: Iterable[dict[str, Any]]) -> None:
        compiled, cursor = self._for(session)
        parameters = [compiled.parameters(row) for row in rows]
        if len(parameters) == 1:  # a driver's executemany of one row costs twice its execute
            self._execute(session, cursor.execute, compiled.sql, parameters[0])
        elif parameters:
            self._execute(session, cursor.executemany, compiled.sql, parameters)

    @staticmethod
    def _execute(session: Session, method: Any, sql: str, parameters: Any) -> None:
        """Run on the driver; its errors become SQLAlchemy's (IntegrityError, OperationalError …),
        as callers expect from any other statement."""
        dbapi = session.get_bind().dialect.loaded_dbapi
        try:
            method(sql, parameters)
        except dbapi.Error as exc:
            raise DBAPIError.instance(sql, parameters, exc, dbapi.Error) from exc
