"""Camunda task assignment (assignee, candidates, dates, priority): translated at deploy, resolved at run.

Stock SpiffWorkflow drops these attributes. We keep them on `task_spec.extensions['camunda']`:
literal values as written, JUEL values as `${<python expression>}` so the runtime can evaluate
them against task data with the sandbox. Due and follow-up dates are an ISO date-time, an ISO
duration counted from the task's creation (Camunda's `${dateTime().plusDays(2).toDate()}` becomes
`P2D`), or `${python}`.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence

from lxml import etree

from engine.compat.juel import Untranslatable, is_juel, matching_brace, translate_template
from engine.compat.timers import InvalidTimer, check_iso
from engine.compat.xmlsafe import CAMUNDA_NS

ATTRIBUTES = ("assignee", "candidateUsers", "candidateGroups", "dueDate", "followUpDate", "priority")
_LISTS = ("candidateUsers", "candidateGroups")
_DATES = ("dueDate", "followUpDate")
_DATE_TIME_CHAIN = re.compile(
    r"[$#]\{\s*dateTime\(\)((?:\.plus(?:Years|Months|Weeks|Days|Hours|Minutes|Seconds)\(\s*\d+\s*\))+)"
    r"\.toDate\(\)\s*\}")
_PLUS = re.compile(r"\.plus(Years|Months|Weeks|Days|Hours|Minutes|Seconds)\(\s*(\d+)\s*\)")


def translate_attribute(name: str, value: str) -> str:
    """The stored form of one assignment attribute; raises Untranslatable with the reason."""
    value = value.strip()
    if name in _LISTS:
        return ", ".join(_translate_item(item) for item in split_names(value))
    if name in _DATES:
        return _translate_date(value)
    return _translate_item(value)


def _translate_item(item: str) -> str:
    return "${" + translate_template(item) + "}" if is_juel(item) else item


def _translate_date(value: str) -> str:
    chain = _DATE_TIME_CHAIN.fullmatch(value)
    if chain:
        return _duration_of(chain.group(1))
    if is_juel(value) or not value:
        return _translate_item(value)
    for kind in ("timeDate", "timeDuration"):
        try:
            check_iso(kind, value)
            return value
        except InvalidTimer:
            continue
    raise Untranslatable(f"{value!r} is neither an ISO 8601 date-time or duration nor an expression")


def _duration_of(chain: str) -> str:
    """`.plusWeeks(1).plusHours(4)` → `P7DT4H` (weeks as days: ISO forbids mixing W with others)."""
    totals = dict.fromkeys(("Years", "Months", "Days", "Hours", "Minutes", "Seconds"), 0)
    for unit, amount in _PLUS.findall(chain):
        totals["Days" if unit == "Weeks" else unit] += int(amount) * (7 if unit == "Weeks" else 1)
    date = "".join(f"{totals[u]}{u[0]}" for u in ("Years", "Months", "Days") if totals[u])
    time = "".join(f"{totals[u]}{u[0]}" for u in ("Hours", "Minutes", "Seconds") if totals[u])
    return "P" + (date or ("" if time else "0D")) + (f"T{time}" if time else "")


def split_names(value: str | None) -> list[str]:
    """Split on commas that are not inside `${…}`; strip items and drop empty ones."""
    if not value:
        return []
    items, current, index = [], [], 0
    while index < len(value):
        if value.startswith(("${", "#{"), index):
            end = matching_brace(value, index + 1)
            current.append(value[index:end + 1])
            index = end + 1
            continue
        if value[index] == ",":
            items.append("".join(current))
            current = []
        else:
            current.append(value[index])
        index += 1
    items.append("".join(current))
    return [item.strip() for item in items if item.strip()]


def assignment_of(node: etree._Element) -> dict:
    """The `extensions['camunda']` dict of a user task whose attributes are already translated."""
    def attribute(name: str) -> str | None:
        value = (node.get(f"{{{CAMUNDA_NS}}}{name}") or "").strip()
        return value or None
    result: dict = {name: attribute(name) for name in ATTRIBUTES}
    for name in _LISTS:
        result[name] = split_names(result[name])
    return result


def resolve_assignment(value: str | Sequence[str] | None, data: Mapping,
                       evaluate: Callable[[str, Mapping], object]) -> list[str]:
    """Names (users or groups) an assignment value stands for, given the task's data.

    `value` is one stored attribute (a comma list is split) or an already split list. `${python}`
    items are evaluated with `evaluate(expression, data)`; a result that is a list or a comma
    string gives several names, None gives none. Order is kept, duplicates dropped.
    """
    items = split_names(value) if isinstance(value, str) else [str(item) for item in value or []]
    names: list[str] = []
    for item in items:
        if item.startswith("${") and item.endswith("}"):
            names.extend(_names_from(evaluate(item[2:-1], data)))
        else:
            names.append(item.strip())
    return list(dict.fromkeys(name for name in names if name))


def _names_from(result: object) -> list[str]:
    if result is None:
        return []
    if isinstance(result, str):
        return [part.strip() for part in result.split(",")]
    if isinstance(result, (set, frozenset)):
        result = sorted(result, key=str)
    if isinstance(result, (list, tuple)):
        return [str(part).strip() for part in result if part is not None]
    return [str(result).strip()]
