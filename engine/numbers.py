"""Whole numbers written as text — by people in an address, by programs in a request, by analysts
in a diagram — read one way everywhere.

``str.isdigit()`` is also true of ``'²'`` and ``'٣'``: ``int('²')`` then raises ValueError (a 500 on
the web, a crash at deploy) and ``int('٣')`` quietly reads 3. Here only ASCII digits are a number,
and only within the bound the caller stores it in, so no caller needs a second check before
``int()`` or before a query.
"""
from __future__ import annotations

import re

MAX_ID = 2**31 - 1  # the largest id a PostgreSQL integer column holds
MAX_BIGINT = 2**63 - 1  # the largest value of a 64-bit integer column (SQLite's, PostgreSQL's bigint)

_UNSIGNED = re.compile(r"[0-9]+")
_SIGNED = re.compile(r"[+-]?[0-9]+")
_MOST_DIGITS = 4000  # below Python's limit on the digits int() converts (4300)


def whole_number(text: object, *, signed: bool = False, most: int | None = MAX_BIGINT) -> int | None:
    """``text`` (surrounding spaces aside) as an int when it is ASCII digits — after a ``+``/``-``
    if ``signed`` — and at most ``most`` in size (``None``: any size); otherwise None."""
    if not isinstance(text, str):
        return None
    text = text.strip()
    if len(text) > _MOST_DIGITS or not (_SIGNED if signed else _UNSIGNED).fullmatch(text):
        return None
    value = int(text)
    return value if most is None or abs(value) <= most else None
