"""Throw-away databases for tests and benchmarks: a PostgreSQL schema or a SQLite file."""
from __future__ import annotations

import contextlib
import uuid
from pathlib import Path
from typing import Iterator

from sqlalchemy import create_engine, text

from engine.store.database import Database


@contextlib.contextmanager
def scratch_postgres(url: str, prefix: str = "scratch") -> Iterator[Database]:
    """A Database on a new schema of the server at ``url``; the schema is dropped afterwards."""
    schema = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    db = Database(f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}")
    try:
        yield db
    finally:
        db.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@contextlib.contextmanager
def scratch_database(url: str | None, folder: Path, prefix: str = "scratch") -> Iterator[Database]:
    """A throw-away schema when ``url`` names a PostgreSQL server, else a SQLite file in ``folder``."""
    if url is not None and not url.startswith("sqlite"):
        with scratch_postgres(url, prefix) as db:
            yield db
        return
    db = Database(url or f"sqlite:///{folder / f'{prefix}.db'}")
    try:
        yield db
    finally:
        db.dispose()
