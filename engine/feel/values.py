"""FEEL values in Python: what each FEEL type is here, how task data enters and leaves, and the
null-safe comparison and arithmetic every operator uses.

FEEL numbers are decimals (DMN 1.3 §10.3.2.3: IEEE 754 decimal128), so ``0.1 + 0.2 = 0.3`` holds;
task data's int and float become ``Decimal`` on the way in and int or float on the way out.
Dates, times and date-times are Python's; a days-and-time duration is a ``timedelta``; a
years-and-months duration is :class:`YearsMonths`. Any operation on values of the wrong types gives
``null`` (``None``), as the spec says; the DMN layer decides where that must be an error instead.
"""
from __future__ import annotations

import calendar
import decimal
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any, Callable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

#: decimal128: 34 significant digits, exponent within ±6143; overflow and 0-division trap (→ null).
DECIMAL = decimal.Context(prec=34, Emax=6144, Emin=-6143, rounding=decimal.ROUND_HALF_EVEN,
                          traps=[decimal.Overflow, decimal.DivisionByZero, decimal.InvalidOperation])
#: Longest text and list one FEEL operation may build (analyst input must not exhaust memory).
MAX_ITEMS = 100_000


class FeelError(Exception):
    """An evaluation that cannot go on: over budget, too big, or a failing built-in argument."""


@dataclass(frozen=True, order=True)
class YearsMonths:
    """A years-and-months duration (``P1Y2M``), counted in months."""

    months: int

    def __str__(self) -> str:
        sign, months = ("-" if self.months < 0 else ""), abs(self.months)
        years, rest = divmod(months, 12)
        body = (f"{years}Y" if years else "") + (f"{rest}M" if rest or not years else "")
        return f"{sign}P{body}"


@dataclass(frozen=True)
class Range:
    """An interval value (``[1..10)``); either end may be None for an open comparison (``< 5``)."""

    start: Any
    end: Any
    start_included: bool = True
    end_included: bool = True

    def contains(self, value: Any) -> bool | None:
        low = True if self.start is None else compare(self.start, value, "<=" if self.start_included else "<")
        high = True if self.end is None else compare(value, self.end, "<=" if self.end_included else "<")
        return logic_and(low, high)


@dataclass(frozen=True)
class Function:
    """A FEEL function value: a built-in or a ``function(a, b) body`` literal."""

    name: str
    parameters: tuple[str, ...]
    call: Callable[..., Any]
    variadic: bool = False


def is_number(value: Any) -> bool:
    return type(value) is Decimal


def kind(value: Any) -> str:
    """The FEEL type name of a value (for messages and `instance of`)."""
    if value is None:
        return "null"
    if type(value) is bool:
        return "boolean"
    for python_type, name in _KINDS:
        if isinstance(value, python_type):
            return name
    return type(value).__name__


_KINDS = ((Decimal, "number"), (str, "string"), (datetime, "date and time"), (date, "date"), (time, "time"),
          (timedelta, "days and time duration"), (YearsMonths, "years and months duration"),
          (list, "list"), (dict, "context"), (Range, "range"), (Function, "function"))


# --- in and out of task data ------------------------------------------------------------------

def to_feel(value: Any) -> Any:
    """A task-data value as FEEL sees it."""
    if value is None or type(value) is bool or isinstance(value, (str, Decimal, date, time, timedelta)):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value)) if value == value and abs(value) != float("inf") else None
    if isinstance(value, (list, tuple)):
        return [to_feel(item) for item in value]
    if isinstance(value, dict):
        return {str(key): to_feel(item) for key, item in value.items()}
    return value


def from_feel(value: Any) -> Any:
    """A FEEL value as task data can store it: ints and floats, ISO text for dates, times and
    durations, datetimes as they are (the serializer keeps those)."""
    if type(value) is Decimal:
        if value == value.to_integral_value() and abs(value) < 10**18:
            return int(value)
        return float(value)
    if isinstance(value, datetime):
        return value
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, (timedelta, YearsMonths)):
        return format_duration(value)
    if isinstance(value, list):
        return [from_feel(item) for item in value]
    if isinstance(value, dict):
        return {key: from_feel(item) for key, item in value.items()}
    if isinstance(value, (Range, Function)):
        return None
    return value


# --- three-valued logic, equality, order ------------------------------------------------------

def logic_and(left: Any, right: Any) -> bool | None:
    if left is False or right is False:
        return False
    if left is True and right is True:
        return True
    return None


def logic_or(left: Any, right: Any) -> bool | None:
    if left is True or right is True:
        return True
    if left is False and right is False:
        return False
    return None


def same_family(left: Any, right: Any) -> bool:
    """Whether two non-null values may be compared at all (a date is not a date-time here)."""
    if type(left) is bool or type(right) is bool:
        return type(left) is type(right)
    if isinstance(left, datetime) or isinstance(right, datetime):
        return (isinstance(left, datetime) and isinstance(right, datetime)
                and (left.tzinfo is None) == (right.tzinfo is None))
    for python_type in (Decimal, str, date, time, timedelta, YearsMonths, list, dict, Range, Function):
        if isinstance(left, python_type):
            return isinstance(right, python_type)
    return type(left) is type(right)


def equal(left: Any, right: Any) -> bool | None:
    """FEEL `=`: null equals only null; values of different types are not comparable (null)."""
    if left is None or right is None:
        return left is None and right is None
    if not same_family(left, right):
        return None
    if isinstance(left, list):
        if len(left) != len(right):
            return False
        return _all_equal(zip(left, right))
    if isinstance(left, dict):
        if left.keys() != right.keys():
            return False
        return _all_equal((left[key], right[key]) for key in left)
    if isinstance(left, time) and (left.tzinfo is None) != (right.tzinfo is None):
        return None
    return left == right


def _all_equal(pairs) -> bool | None:
    result: bool | None = True
    for a, b in pairs:
        same = equal(a, b)
        if same is False:
            return False
        if same is None:
            result = None
    return result


_ORDERED = (Decimal, str, date, time, timedelta, YearsMonths)
_OPERATORS = {"<": lambda a, b: a < b, "<=": lambda a, b: a <= b,
              ">": lambda a, b: a > b, ">=": lambda a, b: a >= b}


def compare(left: Any, right: Any, operator: str) -> bool | None:
    """FEEL `=`, `!=`, `<`, `<=`, `>`, `>=` with null for incomparable operands."""
    if operator == "=":
        return equal(left, right)
    if operator == "!=":
        same = equal(left, right)
        return None if same is None else not same
    if left is None or right is None or not same_family(left, right) or type(left) is bool:
        return None
    if not isinstance(left, _ORDERED):
        return None
    if isinstance(left, time) and (left.tzinfo is None) != (right.tzinfo is None):
        return None
    return _OPERATORS[operator](left, right)


# --- arithmetic --------------------------------------------------------------------------------

def _decimal(operation: Callable[[], Decimal]) -> Decimal | None:
    try:
        result = operation()
    except (decimal.DecimalException, ValueError, OverflowError):
        return None
    return result


def add(left: Any, right: Any) -> Any:
    if left is None or right is None:
        return None
    if is_number(left) and is_number(right):
        return _decimal(lambda: DECIMAL.add(left, right))
    if isinstance(left, str) and isinstance(right, str):
        check_size(len(left) + len(right))
        return left + right
    if isinstance(left, (timedelta, YearsMonths)) and not isinstance(right, (timedelta, YearsMonths)):
        left, right = right, left
    return _shift(left, right, 1)


def subtract(left: Any, right: Any) -> Any:
    if left is None or right is None:
        return None
    if is_number(left) and is_number(right):
        return _decimal(lambda: DECIMAL.subtract(left, right))
    if isinstance(left, datetime) and isinstance(right, datetime):
        return left - right if same_family(left, right) else None
    if type(left) is date and type(right) is date:
        return left - right
    if isinstance(left, time) and isinstance(right, time) and left.tzinfo is None and right.tzinfo is None:
        return datetime.combine(date.min, left) - datetime.combine(date.min, right)
    return _shift(left, right, -1)


def _shift(value: Any, duration: Any, sign: int) -> Any:
    """date/date-time/time/duration plus or minus a duration."""
    try:
        if isinstance(duration, YearsMonths):
            if isinstance(value, YearsMonths):
                return YearsMonths(value.months + sign * duration.months)
            if isinstance(value, date):
                return add_months(value, sign * duration.months)
        elif isinstance(duration, timedelta):
            if isinstance(value, timedelta):
                return value + sign * duration
            if isinstance(value, datetime):
                return value + sign * duration
            if isinstance(value, date):
                return (datetime.combine(value, time()) + sign * duration).date()
            if isinstance(value, time):
                moved = datetime.combine(date(2000, 1, 1), value) + sign * duration
                return moved.timetz() if value.tzinfo else moved.time()
    except OverflowError:
        return None
    return None


def add_months(value: date, months: int) -> date:
    """Calendar months later; the day is clamped to the month's last day (31 Jan + 1 month = 28 Feb)."""
    index = value.year * 12 + value.month - 1 + months
    year, month = divmod(index, 12)
    if not 1 <= year <= 9999:
        raise OverflowError
    day = min(value.day, calendar.monthrange(year, month + 1)[1])
    return value.replace(year=year, month=month + 1, day=day)


def multiply(left: Any, right: Any) -> Any:
    if left is None or right is None:
        return None
    if is_number(left) and is_number(right):
        return _decimal(lambda: DECIMAL.multiply(left, right))
    if is_number(left):
        left, right = right, left
    if is_number(right):
        if isinstance(left, timedelta):
            return _scaled_timedelta(left, right)
        if isinstance(left, YearsMonths):
            return YearsMonths(int(DECIMAL.to_integral_value(Decimal(left.months) * right)))
    return None


def divide(left: Any, right: Any) -> Any:
    if left is None or right is None:
        return None
    if is_number(left) and is_number(right):
        return _decimal(lambda: DECIMAL.divide(left, right))
    if isinstance(left, timedelta) and isinstance(right, timedelta):
        return _decimal(lambda: DECIMAL.divide(_seconds(left), _seconds(right)))
    if isinstance(left, YearsMonths) and isinstance(right, YearsMonths):
        return _decimal(lambda: DECIMAL.divide(Decimal(left.months), Decimal(right.months)))
    if is_number(right) and right != 0:
        if isinstance(left, timedelta):
            return _scaled_timedelta(left, DECIMAL.divide(Decimal(1), right))
        if isinstance(left, YearsMonths):
            return YearsMonths(int(DECIMAL.to_integral_value(Decimal(left.months) / right)))
    return None


def power(left: Any, right: Any) -> Any:
    if not (is_number(left) and is_number(right)):
        return None
    if abs(right) > 10_000:
        return None
    return _decimal(lambda: DECIMAL.power(left, right))


def negate(value: Any) -> Any:
    if is_number(value):
        return -value
    if isinstance(value, timedelta):
        return -value
    if isinstance(value, YearsMonths):
        return YearsMonths(-value.months)
    return None


def _seconds(duration: timedelta) -> Decimal:
    return Decimal(duration.days * 86400 + duration.seconds) + Decimal(duration.microseconds) / 1_000_000


def _scaled_timedelta(duration: timedelta, factor: Decimal) -> timedelta | None:
    try:
        return timedelta(seconds=float(_seconds(duration) * factor))
    except (OverflowError, decimal.DecimalException):
        return None


def check_size(length: int) -> None:
    if length > MAX_ITEMS:
        raise FeelError(f"a value of {length:,} characters or items is too large (at most {MAX_ITEMS:,})")


# --- temporal literals -------------------------------------------------------------------------

_DURATION = re.compile(r"^(-)?P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?"
                       r"(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$")


def parse_duration(text: str) -> timedelta | YearsMonths | None:
    """ISO 8601 `P…` text: years/months only → YearsMonths, days/time only → timedelta."""
    match = _DURATION.match(text.strip()) if isinstance(text, str) else None
    if not match or text.strip().rstrip("T").endswith("P") or text.strip().endswith("T"):
        return None
    sign, years, months, weeks, days, hours, minutes, seconds = match.groups()
    factor = -1 if sign else 1
    if years or months:
        if weeks or days or hours or minutes or seconds:
            return None
        return YearsMonths(factor * (int(years or 0) * 12 + int(months or 0)))
    try:
        return factor * timedelta(weeks=int(weeks or 0), days=int(days or 0), hours=int(hours or 0),
                                  minutes=int(minutes or 0), seconds=float(seconds or 0))
    except OverflowError:
        return None


def format_duration(value: timedelta | YearsMonths) -> str:
    if isinstance(value, YearsMonths):
        return str(value)
    sign = "-" if value < timedelta(0) else ""
    value = abs(value)
    hours, rest = divmod(value.seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    clock = (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "")
    if seconds or value.microseconds:
        clock += f"{Decimal(seconds) + Decimal(value.microseconds) / 1_000_000}S"
    text = (f"{value.days}D" if value.days else "") + (f"T{clock}" if clock else "")
    return f"{sign}P{text or 'T0S'}"


_ZONE = re.compile(r"^(.*?)@([A-Za-z_]+(?:/[A-Za-z_+\-0-9]+)*)$")
_DATE = re.compile(r"^-?\d{4,9}-\d{2}-\d{2}$")


def parse_date(text: str) -> date | None:
    if not isinstance(text, str) or not _DATE.match(text.strip()):
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return None


def parse_time(text: str) -> time | None:
    if not isinstance(text, str):
        return None
    base, zone = _split_zone(text.strip())
    if not re.match(r"^\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?$", base):
        return None
    try:
        value = time.fromisoformat(base.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value.replace(tzinfo=zone) if zone else value


def parse_date_time(text: str) -> datetime | None:
    if not isinstance(text, str):
        return None
    base, zone = _split_zone(text.strip())
    if _DATE.match(base):
        base += "T00:00:00"
    if not re.match(r"^-?\d{4,9}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?$", base):
        return None
    try:
        value = datetime.fromisoformat(base.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value.replace(tzinfo=zone) if zone else value


def _split_zone(text: str) -> tuple[str, Any]:
    match = _ZONE.match(text)
    if not match:
        return text, None
    try:
        return match.group(1), ZoneInfo(match.group(2))
    except (ZoneInfoNotFoundError, ValueError):
        return text, None


def parse_temporal(text: str) -> Any:
    """An `@"…"` literal: whichever of date, time, date-time or duration the text is."""
    for parse in (parse_date, parse_date_time, parse_time, parse_duration):
        value = parse(text)
        if value is not None:
            return value
    return None


def format_number(value: Decimal) -> str:
    """A number as FEEL's string() writes it: plain digits, no exponent, no trailing zeros."""
    if value == value.to_integral_value():
        return str(value.quantize(Decimal(1))) if abs(value) < Decimal(10) ** 34 else format(value, "f")
    text = format(value.normalize(DECIMAL), "f")
    return text


UTC = timezone.utc
