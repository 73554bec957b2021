"""A throw-away PostgreSQL schema, for tests and benchmarks that must run on the real server."""
from __future__ import annotations

import contextlib
import uuid
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
