"""FEEL's built-in functions (DMN 1.3 §10.3.4, plus the few FEEL-scala adds that Camunda 7 documents).

Every function takes FEEL values and returns a FEEL value; an argument of the wrong type gives
null, as the spec says. Regular expressions (matches, replace, split) run on the `regex` module
with a time limit, so an analyst's pattern cannot hang a worker (catastrophic backtracking).
"""
from __future__ import annotations

import calendar
from dataclasses import dataclass
import functools
import statistics
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any, Callable

import regex

from engine import clock
from engine.feel.values import (DECIMAL, FeelError, Function, Range, YearsMonths, check_size, compare, equal,
                                format_duration, format_number, is_number, kind, logic_and, logic_or,
                                parse_date, parse_date_time, parse_duration, parse_time)

_REGEX_TIMEOUT_S = 0.2
BUILTINS: dict[str, Function] = {}


def builtin(name: str, *parameters: str, variadic: bool = False) -> Callable[[Callable], Callable]:
    def register(function: Callable) -> Callable:
        BUILTINS[name] = Function(name, parameters, function, variadic)
        return function
    return register


def _numbers(*values: Any) -> bool:
    return all(is_number(value) for value in values)


def _integer(value: Any) -> int | None:
    if is_number(value) and value == value.to_integral_value():
        return int(value)
    return None


def _list_argument(items: tuple) -> list | None:
    """List functions take a list or the items themselves (`sum(1, 2)` = `sum([1, 2])`)."""
    if len(items) == 1 and isinstance(items[0], list):
        return items[0]
    return list(items) if items else None


# --- conversion --------------------------------------------------------------------------------

@builtin("date", "from", variadic=True)
def _date(*args: Any) -> date | None:
    if len(args) == 3:
        year, month, day = (_integer(a) for a in args)
        try:
            return date(year, month, day) if None not in (year, month, day) else None
        except ValueError:
            return None
    if len(args) != 1:
        return None
    value = args[0]
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return parse_date(value)


@builtin("time", "from", variadic=True)
def _time(*args: Any) -> time | None:
    if len(args) in (3, 4) and _numbers(*args[:3]):
        try:
            seconds = args[2]
            value = time(int(args[0]), int(args[1]), int(seconds), int((seconds % 1) * 1_000_000))
        except ValueError:
            return None
        if len(args) == 4:
            if not isinstance(args[3], timedelta):
                return None
            value = value.replace(tzinfo=timezone(args[3]))
        return value
    if len(args) != 1:
        return None
    value = args[0]
    if isinstance(value, datetime):
        return value.timetz()
    if isinstance(value, date):
        return time()
    if isinstance(value, time):
        return value
    return parse_time(value)


@builtin("date and time", "from", variadic=True)
def _date_and_time(*args: Any) -> datetime | None:
    if len(args) == 2:
        day, moment = args
        if isinstance(day, date) and isinstance(moment, time):
            return datetime.combine(day.date() if isinstance(day, datetime) else day, moment)
        return None
    if len(args) != 1:
        return None
    value = args[0]
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime.combine(value, time())
    return parse_date_time(value)


@builtin("duration", "from")
def _duration(text: Any) -> Any:
    return parse_duration(text) if isinstance(text, str) else None


@builtin("years and months duration", "from", "to")
def _years_and_months(start: Any, end: Any) -> YearsMonths | None:
    if not (isinstance(start, date) and isinstance(end, date)):
        return None
    months = (end.year - start.year) * 12 + end.month - start.month
    start_rest = (start.day, start.time() if isinstance(start, datetime) else time())
    end_rest = (end.day, end.time() if isinstance(end, datetime) else time())
    if months > 0 and end_rest < start_rest:
        months -= 1
    elif months < 0 and end_rest > start_rest:
        months += 1
    return YearsMonths(months)


@builtin("number", "from", "grouping separator", "decimal separator")
def _number(text: Any, grouping: Any = None, separator: Any = None) -> Decimal | None:
    if not isinstance(text, str):
        return None
    if grouping is not None:
        if grouping not in (" ", ",", ".") or separator == grouping:
            return None
        text = text.replace(grouping, "")
    if separator is not None:
        if separator not in (",", "."):
            return None
        text = text.replace(separator, ".")
    if not regex.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?", text.strip()):
        return None
    return DECIMAL.create_decimal(text.strip())


@builtin("string", "from")
def to_string(value: Any) -> str | None:
    if value is None:
        return None
    if type(value) is bool:
        return "true" if value else "false"
    if is_number(value):
        return format_number(value)
    if isinstance(value, str):
        return value
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, (timedelta, YearsMonths)):
        return format_duration(value)
    if isinstance(value, list):
        return "[" + ", ".join(_quoted(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key}:{_quoted(item)}" for key, item in value.items()) + "}"
    return None


def _quoted(value: Any) -> str:
    return f'"{value}"' if isinstance(value, str) else (to_string(value) or "null")


# --- boolean -----------------------------------------------------------------------------------

@builtin("not", "negand")
def _not(value: Any) -> bool | None:
    return (not value) if type(value) is bool else None


@builtin("is defined", "value")
def _is_defined(value: Any) -> bool:
    """Called with a value, that value exists (null too); `is defined(x)` of a name or path is
    compiled to test existence (compiler.py)."""
    return True


# --- strings -----------------------------------------------------------------------------------

def _text(*values: Any) -> bool:
    return all(isinstance(value, str) for value in values)


@builtin("substring", "string", "start position", "length")
def _substring(text: Any, start: Any, length: Any = None) -> str | None:
    start = _integer(start)
    if not isinstance(text, str) or start is None:
        return None
    characters = list(text)  # FEEL counts code points, as Python does
    begin = start - 1 if start > 0 else len(characters) + start
    if start == 0 or begin < 0 or begin > len(characters):
        return None if start == 0 else ("" if begin > len(characters) else None)
    if length is None:
        return "".join(characters[begin:])
    count = _integer(length)
    return None if count is None or count < 0 else "".join(characters[begin:begin + count])


@builtin("string length", "string")
def _string_length(text: Any) -> Decimal | None:
    return Decimal(len(text)) if isinstance(text, str) else None


@builtin("upper case", "string")
def _upper(text: Any) -> str | None:
    return text.upper() if isinstance(text, str) else None


@builtin("lower case", "string")
def _lower(text: Any) -> str | None:
    return text.lower() if isinstance(text, str) else None


@builtin("substring before", "string", "match")
def _before(text: Any, match: Any) -> str | None:
    return text.partition(match)[0] if _text(text, match) and match in text else ("" if _text(text, match) else None)


@builtin("substring after", "string", "match")
def _after(text: Any, match: Any) -> str | None:
    if not _text(text, match):
        return None
    return text.partition(match)[2] if match in text else ""


@builtin("contains", "string", "match")
def _contains(text: Any, match: Any) -> bool | None:
    return (match in text) if _text(text, match) else None


@builtin("starts with", "string", "match")
def _starts(text: Any, match: Any) -> bool | None:
    return text.startswith(match) if _text(text, match) else None


@builtin("ends with", "string", "match")
def _ends(text: Any, match: Any) -> bool | None:
    return text.endswith(match) if _text(text, match) else None


def _pattern(pattern: str, flags: Any) -> regex.Pattern | None:
    if flags is not None and not (isinstance(flags, str) and set(flags) <= set("smixq")):
        return None
    options = 0
    for flag, option in (("s", regex.S), ("m", regex.M), ("i", regex.I), ("x", regex.X)):
        if flags and flag in flags:
            options |= option
    try:
        return regex.compile(regex.escape(pattern) if flags and "q" in flags else pattern, options | regex.V0)
    except regex.error:
        return None


def _timed(run: Callable[[], Any]) -> Any:
    try:
        return run()
    except TimeoutError:
        raise FeelError("a regular expression took too long and was stopped") from None


@builtin("matches", "input", "pattern", "flags")
def _matches(text: Any, pattern: Any, flags: Any = None) -> bool | None:
    compiled = _pattern(pattern, flags) if _text(text, pattern) else None
    if compiled is None:
        return None
    return _timed(lambda: compiled.search(text, timeout=_REGEX_TIMEOUT_S) is not None)


@builtin("replace", "input", "pattern", "replacement", "flags")
def _replace(text: Any, pattern: Any, replacement: Any, flags: Any = None) -> str | None:
    compiled = _pattern(pattern, flags) if _text(text, pattern, replacement) else None
    if compiled is None:
        return None
    template = regex.sub(r"\$(\d)", r"\\\1", replacement)
    try:
        result = _timed(lambda: compiled.sub(template, text, timeout=_REGEX_TIMEOUT_S))
    except (regex.error, IndexError):
        return None
    check_size(len(result))
    return result


@builtin("split", "string", "delimiter")
def _split(text: Any, delimiter: Any) -> list | None:
    compiled = _pattern(delimiter, None) if _text(text, delimiter) else None
    if compiled is None:
        return None
    return _timed(lambda: compiled.split(text, timeout=_REGEX_TIMEOUT_S))


@builtin("string join", "list", "delimiter")
def _join(items: Any, delimiter: Any = "") -> str | None:
    if not isinstance(items, list) or not isinstance(delimiter or "", str):
        return None
    texts = [item for item in items if item is not None]
    if not _text(*texts):
        return None
    check_size(sum(map(len, texts)) + len(delimiter or "") * len(texts))
    return (delimiter or "").join(texts)


@builtin("extract", "string", "pattern")
def _extract(text: Any, pattern: Any) -> list | None:
    compiled = _pattern(pattern, None) if _text(text, pattern) else None
    if compiled is None:
        return None
    return _timed(lambda: [m.group(0) for m in compiled.finditer(text, timeout=_REGEX_TIMEOUT_S)])


# --- lists -------------------------------------------------------------------------------------

@builtin("list contains", "list", "element")
def _list_contains(items: Any, element: Any) -> bool | None:
    if not isinstance(items, list):
        return None
    return any(equal(item, element) is True for item in items)


@builtin("count", "list", variadic=True)
def _count(*items: Any) -> Decimal | None:
    values = _list_argument(items)
    return None if values is None else Decimal(len(values))


def _extreme(items: tuple, operator: str) -> Any:
    values = _list_argument(items)
    if not values or any(value is None for value in values):
        return None
    best = values[0]
    for value in values[1:]:
        better = compare(value, best, operator)
        if better is None:
            return None
        if better:
            best = value
    return best


@builtin("min", "list", variadic=True)
def _min(*items: Any) -> Any:
    return _extreme(items, "<")


@builtin("max", "list", variadic=True)
def _max(*items: Any) -> Any:
    return _extreme(items, ">")


def _number_list(items: tuple) -> list[Decimal] | None:
    values = _list_argument(items)
    return values if values is not None and _numbers(*values) else None


@builtin("sum", "list", variadic=True)
def _sum(*items: Any) -> Decimal | None:
    values = _number_list(items)
    if not values:
        return None
    total = Decimal(0)
    for value in values:
        total = DECIMAL.add(total, value)
    return total


@builtin("product", "list", variadic=True)
def _product(*items: Any) -> Decimal | None:
    values = _number_list(items)
    if not values:
        return None
    total = Decimal(1)
    for value in values:
        total = DECIMAL.multiply(total, value)
    return total


@builtin("mean", "list", variadic=True)
def _mean(*items: Any) -> Decimal | None:
    values = _number_list(items)
    return DECIMAL.divide(_sum(values), Decimal(len(values))) if values else None


@builtin("median", "list", variadic=True)
def _median(*items: Any) -> Decimal | None:
    values = _number_list(items)
    return DECIMAL.create_decimal(statistics.median(values)) if values else None


@builtin("stddev", "list", variadic=True)
def _stddev(*items: Any) -> Decimal | None:
    values = _number_list(items)
    return DECIMAL.create_decimal(statistics.stdev(values)) if values and len(values) > 1 else None


@builtin("mode", "list", variadic=True)
def _mode(*items: Any) -> list | None:
    values = _number_list(items)
    if values is None:
        return None
    return sorted(statistics.multimode(values)) if values else []


@builtin("all", "list", variadic=True)
def _all(*items: Any) -> bool | None:
    values = _list_argument(items)
    if values is None:
        return None
    result: bool | None = True
    for value in values:
        if value is not True and value is not False and value is not None:
            return None
        result = logic_and(result, value)
    return result


@builtin("any", "list", variadic=True)
def _any(*items: Any) -> bool | None:
    values = _list_argument(items)
    if values is None:
        return None
    result: bool | None = False
    for value in values:
        if value is not True and value is not False and value is not None:
            return None
        result = logic_or(result, value)
    return result


BUILTINS["and"] = BUILTINS["all"]
BUILTINS["or"] = BUILTINS["any"]


@builtin("sublist", "list", "start position", "length")
def _sublist(items: Any, start: Any, length: Any = None) -> list | None:
    start = _integer(start)
    if not isinstance(items, list) or not start:
        return None
    begin = start - 1 if start > 0 else len(items) + start
    if begin < 0 or begin >= len(items):
        return None
    count = None if length is None else _integer(length)
    return items[begin:] if length is None else (None if count is None else items[begin:begin + count])


@builtin("append", "list", "item", variadic=True)
def _append(items: Any, *more: Any) -> list | None:
    if not isinstance(items, list):
        return None
    check_size(len(items) + len(more))
    return [*items, *more]


@builtin("concatenate", "list", variadic=True)
def _concatenate(*lists: Any) -> list | None:
    if not all(isinstance(items, list) for items in lists):
        return None
    check_size(sum(map(len, lists)))
    return [item for items in lists for item in items]


@builtin("insert before", "list", "position", "newItem")
def _insert_before(items: Any, position: Any, item: Any) -> list | None:
    index = _integer(position)
    if not isinstance(items, list) or not index or abs(index) > len(items):
        return None
    at = index - 1 if index > 0 else len(items) + index
    return [*items[:at], item, *items[at:]]


@builtin("remove", "list", "position")
def _remove(items: Any, position: Any) -> list | None:
    index = _integer(position)
    if not isinstance(items, list) or not index or abs(index) > len(items):
        return None
    at = index - 1 if index > 0 else len(items) + index
    return [*items[:at], *items[at + 1:]]


@builtin("reverse", "list")
def _reverse(items: Any) -> list | None:
    return items[::-1] if isinstance(items, list) else None


@builtin("index of", "list", "match")
def _index_of(items: Any, match: Any) -> list | None:
    if not isinstance(items, list):
        return None
    return [Decimal(i + 1) for i, item in enumerate(items) if equal(item, match) is True]


@builtin("distinct values", "list")
def _distinct(items: Any) -> list | None:
    if not isinstance(items, list):
        return None
    kept: list = []
    for item in items:
        if not any(equal(item, other) is True for other in kept):
            kept.append(item)
    return kept


@builtin("union", "list", variadic=True)
def _union(*lists: Any) -> list | None:
    joined = _concatenate(*lists)
    return None if joined is None else _distinct(joined)


@builtin("flatten", "list")
def _flatten(items: Any) -> list | None:
    if not isinstance(items, list):
        return None
    flat: list = []
    pending = [iter(items)]
    while pending:
        for item in pending[-1]:
            if isinstance(item, list):
                pending.append(iter(item))
                break
            flat.append(item)
            check_size(len(flat))
        else:
            pending.pop()
    return flat


@builtin("is empty", "list")
def _is_empty(items: Any) -> bool | None:
    return (len(items) == 0) if isinstance(items, list) else None


# --- numbers -----------------------------------------------------------------------------------

def _rounded(value: Any, scale: Any, rounding: str) -> Decimal | None:
    places = _integer(scale)
    if not is_number(value) or places is None or not -6111 <= places <= 6176:
        return None
    try:
        return value.quantize(Decimal(1).scaleb(-places), rounding=rounding, context=DECIMAL)
    except ArithmeticError:
        return None


@builtin("decimal", "n", "scale")
def _decimal_fn(value: Any, scale: Any) -> Decimal | None:
    return _rounded(value, scale, "ROUND_HALF_EVEN")


@builtin("round up", "n", "scale")
def _round_up(value: Any, scale: Any) -> Decimal | None:
    return _rounded(value, scale, "ROUND_UP")


@builtin("round down", "n", "scale")
def _round_down(value: Any, scale: Any) -> Decimal | None:
    return _rounded(value, scale, "ROUND_DOWN")


@builtin("round half up", "n", "scale")
def _round_half_up(value: Any, scale: Any) -> Decimal | None:
    return _rounded(value, scale, "ROUND_HALF_UP")


@builtin("round half down", "n", "scale")
def _round_half_down(value: Any, scale: Any) -> Decimal | None:
    return _rounded(value, scale, "ROUND_HALF_DOWN")


@builtin("floor", "n", "scale")
def _floor(value: Any, scale: Any = Decimal(0)) -> Decimal | None:
    return _rounded(value, scale, "ROUND_FLOOR")


@builtin("ceiling", "n", "scale")
def _ceiling(value: Any, scale: Any = Decimal(0)) -> Decimal | None:
    return _rounded(value, scale, "ROUND_CEILING")


@builtin("abs", "n")
def _abs(value: Any) -> Any:
    if is_number(value) or isinstance(value, timedelta):
        return abs(value)
    if isinstance(value, YearsMonths):
        return YearsMonths(abs(value.months))
    return None


@builtin("modulo", "dividend", "divisor")
def _modulo(dividend: Any, divisor: Any) -> Decimal | None:
    if not _numbers(dividend, divisor) or divisor == 0:
        return None
    quotient = DECIMAL.divide(dividend, divisor).to_integral_value(rounding="ROUND_FLOOR")
    return DECIMAL.subtract(dividend, DECIMAL.multiply(divisor, quotient))


@builtin("sqrt", "number")
def _sqrt(value: Any) -> Decimal | None:
    return DECIMAL.sqrt(value) if is_number(value) and value >= 0 else None


@builtin("log", "number")
def _log(value: Any) -> Decimal | None:
    return DECIMAL.ln(value) if is_number(value) and value > 0 else None


@builtin("exp", "number")
def _exp(value: Any) -> Decimal | None:
    if not is_number(value) or value > 14000:
        return None
    return DECIMAL.exp(value)


@builtin("odd", "number")
def _odd(value: Any) -> bool | None:
    whole = _integer(value)
    return None if whole is None else whole % 2 == 1


@builtin("even", "number")
def _even(value: Any) -> bool | None:
    whole = _integer(value)
    return None if whole is None else whole % 2 == 0


# --- contexts ----------------------------------------------------------------------------------

@builtin("get value", "m", "key")
def _get_value(context: Any, key: Any) -> Any:
    return context.get(key) if isinstance(context, dict) and isinstance(key, str) else None


@builtin("get entries", "m")
def _get_entries(context: Any) -> list | None:
    if not isinstance(context, dict):
        return None
    return [{"key": key, "value": value} for key, value in context.items()]


@builtin("context put", "context", "key", "value")
def _context_put(context: Any, key: Any, value: Any) -> dict | None:
    if not isinstance(context, dict) or not isinstance(key, str):
        return None
    return {**context, key: value}


@builtin("context merge", "contexts")
def _context_merge(contexts: Any) -> dict | None:
    if not isinstance(contexts, list) or not all(isinstance(c, dict) for c in contexts):
        return None
    merged: dict = {}
    for context in contexts:
        merged.update(context)
    return merged


@builtin("context", "entries")
def _context(entries: Any) -> dict | None:
    if not isinstance(entries, list):
        return None
    result: dict = {}
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("key"), str) or "value" not in entry:
            return None
        result[entry["key"]] = entry["value"]
    return result


# --- dates and times ---------------------------------------------------------------------------

@builtin("now")
def _now() -> datetime:
    return clock.now().astimezone(clock.local_tz())


@builtin("today")
def _today() -> date:
    return _now().date()


@builtin("day of week", "date")
def _day_of_week(value: Any) -> str | None:
    return _WEEKDAYS[value.weekday()] if isinstance(value, date) else None


@builtin("day of year", "date")
def _day_of_year(value: Any) -> Decimal | None:
    return Decimal(value.timetuple().tm_yday) if isinstance(value, date) else None


@builtin("week of year", "date")
def _week_of_year(value: Any) -> Decimal | None:
    return Decimal(value.isocalendar()[1]) if isinstance(value, date) else None


@builtin("month of year", "date")
def _month_of_year(value: Any) -> str | None:
    return _MONTHS[value.month - 1] if isinstance(value, date) else None


@builtin("last day of month", "date")
def _last_day_of_month(value: Any) -> date | None:
    if not isinstance(value, date):
        return None
    return date(value.year, value.month, calendar.monthrange(value.year, value.month)[1])


_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December")


# --- ranges and misc ---------------------------------------------------------------------------

@builtin("is", "value1", "value2")
def _is(left: Any, right: Any) -> bool:
    return kind(left) == kind(right) and equal(left, right) is True


# DMN 1.3 §10.3.4.8 range functions; a point is the range [p..p], an open end (`< 5`) is infinite.

class _Incomparable(Exception):
    """Two bounds of different types: the function's value is null."""


_LOW, _HIGH = object(), object()


@dataclass(frozen=True)
class _Span:
    start: Any
    start_in: bool
    end: Any
    end_in: bool


def _span(value: Any) -> _Span:
    if isinstance(value, Range):
        return _Span(_LOW if value.start is None else value.start, value.start_included,
                     _HIGH if value.end is None else value.end, value.end_included)
    if value is None or isinstance(value, (list, dict, Function)):
        raise _Incomparable
    return _Span(value, True, value, True)


def _cmp(left: Any, right: Any) -> int:
    if left is right:
        return 0
    if left is _LOW or right is _HIGH:
        return -1
    if left is _HIGH or right is _LOW:
        return 1
    if equal(left, right) is True:
        return 0
    less = compare(left, right, "<")
    if less is None:
        raise _Incomparable
    return -1 if less else 1


def _range_function(name: str, test: Callable[[_Span, _Span], bool]) -> None:
    def run(left: Any, right: Any) -> bool | None:
        try:
            return test(_span(left), _span(right))
        except _Incomparable:
            return None
    builtin(name, "range1", "range2")(run)


def _before(a: _Span, b: _Span) -> bool:
    order = _cmp(a.end, b.start)
    return order < 0 or (order == 0 and not (a.end_in and b.start_in))


def _meets(a: _Span, b: _Span) -> bool:
    return a.end_in and b.start_in and _cmp(a.end, b.start) == 0


def _overlaps(a: _Span, b: _Span) -> bool:
    return not _before(a, b) and not _before(b, a)


def _overlaps_before(a: _Span, b: _Span) -> bool:
    starts = _cmp(a.start, b.start)
    ends = _cmp(a.end, b.end)
    return ((starts < 0 or (starts == 0 and a.start_in and not b.start_in)) and _overlaps(a, b)
            and (ends < 0 or (ends == 0 and (not a.end_in or b.end_in))))


def _includes(a: _Span, b: _Span) -> bool:
    starts, ends = _cmp(a.start, b.start), _cmp(a.end, b.end)
    return ((starts < 0 or (starts == 0 and (a.start_in or not b.start_in)))
            and (ends > 0 or (ends == 0 and (a.end_in or not b.end_in))))


def _starts(a: _Span, b: _Span) -> bool:
    ends = _cmp(a.end, b.end)
    return (_cmp(a.start, b.start) == 0 and a.start_in == b.start_in
            and (ends < 0 or (ends == 0 and (not a.end_in or b.end_in))))


def _finishes(a: _Span, b: _Span) -> bool:
    starts = _cmp(a.start, b.start)
    return (_cmp(a.end, b.end) == 0 and a.end_in == b.end_in
            and (starts > 0 or (starts == 0 and (not a.start_in or b.start_in))))


def _coincides(a: _Span, b: _Span) -> bool:
    return (_cmp(a.start, b.start) == 0 and _cmp(a.end, b.end) == 0
            and a.start_in == b.start_in and a.end_in == b.end_in)


def _swapped(test: Callable[[_Span, _Span], bool]) -> Callable[[_Span, _Span], bool]:
    return lambda a, b: test(b, a)


for _function, _test in (("before", _before), ("after", _swapped(_before)), ("meets", _meets),
                     ("met by", _swapped(_meets)), ("overlaps", _overlaps), ("overlaps before", _overlaps_before),
                     ("overlaps after", _swapped(_overlaps_before)), ("finishes", _finishes),
                     ("finished by", _swapped(_finishes)), ("includes", _includes), ("during", _swapped(_includes)),
                     ("starts", _starts), ("started by", _swapped(_starts)), ("coincides", _coincides)):
    _range_function(_function, _test)


def sort_list(items: Any, precedes: Any, call: Callable[[Function, list], Any]) -> list | None:
    """`sort(list, precedes)`: the FEEL function says whether its first argument comes first."""
    if not isinstance(items, list):
        return None
    if precedes is None:
        if items and not all(value is not None and compare(items[0], value, "=") is not None for value in items):
            return None
        return sorted(items, key=functools.cmp_to_key(lambda a, b: -1 if compare(a, b, "<") else int(a != b)))
    if not isinstance(precedes, Function):
        return None

    def order(left: Any, right: Any) -> int:
        if call(precedes, [left, right]) is True:
            return -1
        return 1 if call(precedes, [right, left]) is True else 0
    return sorted(items, key=functools.cmp_to_key(order))
