"""Camunda's typed variables (``{"x": {"value": 1, "type": "Integer"}}``) to and from case data.

Case data holds plain JSON values (see engine/forms.py), so a variable's value is kept as the JSON
value it is, after checking it is what its ``type`` says; ``Json`` / ``Object`` (JSON-serialised)
values are parsed into the structure they hold, a ``Date`` is kept as the text the client sent.
A type that would need Java (a serialised Java object, ``Bytes``, ``File``) is refused.
"""
from __future__ import annotations

import json
import re
from datetime import date, datetime
from typing import Any

from engine.errors import InvalidInput

_INT32 = (-(2 ** 31), 2 ** 31 - 1)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(T[\d:.]+([+-]\d{2}:?\d{2}|Z)?)?")


def _bad(name: str, kind: str, value: Any) -> InvalidInput:
    return InvalidInput(f"Cannot convert value '{value}' of variable '{name}' to type {kind}.")


def _integer(name: str, kind: str, value: Any) -> int:
    if isinstance(value, bool):
        raise _bad(name, kind, value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and re.fullmatch(r"[+-]?\d+", value.strip()):
        return int(value)
    raise _bad(name, kind, value)


def _boolean(name: str, kind: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise _bad(name, kind, value)


def _double(name: str, kind: str, value: Any) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    try:
        return float(str(value))
    except ValueError:
        raise _bad(name, kind, value) from None


def _string(name: str, kind: str, value: Any) -> str:
    if isinstance(value, (dict, list)):
        raise _bad(name, kind, value)
    return value if isinstance(value, str) else json.dumps(value)


def _date(name: str, kind: str, value: Any) -> str:
    if not isinstance(value, str) or not _DATE.fullmatch(value.strip()):
        raise _bad(name, kind, value)
    return value.strip()


def _json(name: str, kind: str, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        raise _bad(name, kind, value) from None


def _object(name: str, kind: str, value: Any, info: dict[str, Any]) -> Any:
    data_format = str(info.get("serializationDataFormat") or "application/json")
    if "json" not in data_format:
        raise InvalidInput(f"Variable '{name}': serialization format {data_format} is not supported here "
                           "(only application/json).")
    return _json(name, kind, value)


_CONVERT = {"string": _string, "boolean": _boolean, "integer": _integer, "short": _integer, "long": _integer,
            "double": _double, "date": _date, "json": _json}


def to_python(variables: Any) -> dict[str, Any]:
    """Typed variables from a request body as case data values."""
    if variables is None:
        return {}
    if not isinstance(variables, dict):
        raise InvalidInput("variables must be a JSON object of {name: {value, type}}.")
    values: dict[str, Any] = {}
    for name, typed in variables.items():
        if not isinstance(typed, dict):
            raise InvalidInput(f"Variable '{name}' must be an object with 'value' (and 'type').")
        values[str(name)] = _value(str(name), typed)
    return values


def _value(name: str, typed: dict[str, Any]) -> Any:
    kind, value = typed.get("type"), typed.get("value")
    if kind is None or value is None or str(kind).lower() == "null":
        return value
    key = str(kind).lower()
    if key == "object":
        return _object(name, str(kind), value, typed.get("valueInfo") or {})
    if key not in _CONVERT:
        raise InvalidInput(f"Variable '{name}': type {kind} is not supported here "
                           "(String, Boolean, Integer, Short, Long, Double, Date, Json, Object as JSON, Null).")
    return _CONVERT[key](name, str(kind), value)


def typed(value: Any) -> dict[str, Any]:
    """One case data value as Camunda's typed variable."""
    if value is None:
        return {"type": "Null", "value": None, "valueInfo": {}}
    if isinstance(value, bool):
        return {"type": "Boolean", "value": value, "valueInfo": {}}
    if isinstance(value, int):
        kind = "Integer" if _INT32[0] <= value <= _INT32[1] else "Long"
        return {"type": kind, "value": value, "valueInfo": {}}
    if isinstance(value, float):
        return {"type": "Double", "value": value, "valueInfo": {}}
    if isinstance(value, (datetime, date)):
        return {"type": "Date", "value": value.isoformat(), "valueInfo": {}}
    if isinstance(value, (dict, list, tuple)):
        return {"type": "Json", "value": json.dumps(value, ensure_ascii=False, default=str), "valueInfo": {}}
    return {"type": "String", "value": str(value), "valueInfo": {}}


def typed_all(values: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: typed(value) for name, value in values.items()}
