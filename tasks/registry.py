"""The registry behind ``tasks.FUNCTIONS``: one decorator, one dict, names as diagrams write them."""
from __future__ import annotations

from typing import Any, Callable, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

#: Business functions by the name a script uses to call them.
FUNCTIONS: dict[str, Callable[..., Any]] = {}


def business_function(function: F) -> F:
    """Expose ``function`` to diagram scripts under its own name.

    Two functions with one name would make a diagram call whichever module loaded last, so that is
    refused at import time.
    """
    name = function.__name__
    if FUNCTIONS.get(name, function) is not function:
        raise ValueError(f"two business functions are named {name!r}")
    FUNCTIONS[name] = function
    return function
