"""When the storage itself fails (full, read-only, locked, unreachable): say so, plainly.

Such an error is nobody's bug and no user's mistake, and the unit of work it hit was rolled back:
the CLI prints ``error: …`` (exit 2) and the web answers 503 with the sentence from here, instead
of "internal error (OperationalError)".
"""
from __future__ import annotations

import errno

from sqlalchemy.exc import DBAPIError

FULL = "存储空间已满，操作未执行（数据未改变）。请联系管理员清理磁盘后重试。"
READ_ONLY = "数据库为只读或无法写入（文件或文件夹权限），操作未执行（数据未改变）。请联系管理员。"
BUSY = "数据库繁忙（另一项操作占用过久），操作未执行（数据未改变）。请稍后重试。"
GONE = "与数据库的连接中断，操作未执行（数据未改变）。请稍后重试。"

_SQLSTATES = {"53100": FULL, "53200": FULL, "25006": READ_ONLY, "57014": BUSY, "55P03": BUSY,
              "40P01": BUSY, "57P01": GONE, "57P02": GONE, "57P03": GONE}
_SQLITE_TEXT = (("disk is full", FULL), ("disk i/o error", FULL), ("readonly database", READ_ONLY),
                ("unable to open database", READ_ONLY), ("database is locked", BUSY))
_ERRNOS = {errno.ENOSPC: FULL, errno.EDQUOT: FULL, errno.EROFS: READ_ONLY, errno.EACCES: READ_ONLY,
           errno.EPERM: READ_ONLY}


def storage_trouble(error: BaseException) -> str | None:
    """The sentence for a storage failure (this error or what caused it), else None."""
    seen: BaseException | None = error
    while seen is not None:
        found = _one(seen)
        if found is not None:
            return found
        seen = seen.__cause__ or seen.__context__
    return None


def _one(error: BaseException) -> str | None:
    if isinstance(error, OSError) and error.errno in _ERRNOS:
        return _ERRNOS[error.errno]
    if not isinstance(error, DBAPIError):
        return None
    state = getattr(error.orig, "sqlstate", None) or ""
    if state in _SQLSTATES:
        return _SQLSTATES[state]
    if error.connection_invalidated or state.startswith("08"):
        return GONE
    text = str(error.orig).lower()
    return next((message for pattern, message in _SQLITE_TEXT if pattern in text), None)
