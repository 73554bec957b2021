"""Where attached files' bytes live: in the ``attachment`` row, or in a folder the centre
configures (``BPMDESK_ATTACHMENT_DIR``), as a file named by the bytes' SHA-256.

A file's name on disk never comes from the uploader (no ``../``, no odd characters, no
overwriting another case's file: equal names mean equal bytes), and a folder file is written to
a temporary name and renamed into place, so a reader never sees half of one. A unit of work that
rolls back may leave a file no row names; it harms nothing and is the same file a retry writes.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from engine.store.models import Attachment

FOLDER_ENV = "BPMDESK_ATTACHMENT_DIR"


def folder() -> Path | None:
    """The configured folder, or ``None``: bytes are kept in the database."""
    text = os.environ.get(FOLDER_ENV, "").strip()
    return Path(text) if text else None


def _path(root: Path, sha256: str) -> Path:
    return root / sha256[:2] / sha256


def store(row: Attachment, content: bytes) -> None:
    """Keep ``content`` for ``row`` (whose ``sha256`` is set) where the centre keeps files."""
    root = folder()
    if root is None:
        row.stored_in, row.content = "database", content
        return
    target = _path(root, row.sha256)
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as out:
            out.write(content)
        os.replace(out.name, target)
    row.stored_in, row.content = "folder", None


def load(row: Attachment) -> bytes:
    """The bytes of ``row``; a folder file that went missing is an OSError for the caller."""
    if row.stored_in == "database":
        return row.content or b""
    root = folder()
    if root is None:
        raise OSError(f"{FOLDER_ENV} is not set, but attachment {row.id} is kept in a folder")
    return _path(root, row.sha256).read_bytes()
