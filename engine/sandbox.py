"""The sandbox for the Python that diagrams carry: script tasks, conditions, timer and DMN expressions.

Diagrams arrive by web upload, so their code is hostile until proven otherwise. SpiffWorkflow runs it
with plain ``exec``/``eval``; :class:`SandboxEnvironment` compiles it with RestrictedPython instead and
adds what RestrictedPython leaves to its user:

* attribute access is an allow-list per type (text, numbers, lists, dicts, dates), so no path leads
  from a value to its class, a module, a function's globals or a frame;
* builtins are a small fixed set: no import, ``open``, ``getattr``, ``type``, ``vars``, ``dir``;
  ``locals()`` is a copy of the data variables only;
* every loop iteration and every call of a script-defined function checks the run's time and memory
  budget. The checks are compiled into the script, so they work in any thread (no SIGALRM) and
  keep firing however the script catches exceptions;
* what C code could make huge in one step (``**``, ``*``, ``<<``, ``+`` on sequences, format widths,
  ``str.join``/``replace``/padding, ``list.extend``, ``range``, ``round``) is size-checked first.

Task data keeps SpiffWorkflow's semantics: a script reads task-data variables and assigns new ones;
functions never end up in task data. Values that leave the sandbox must be data the serializer can
store, small enough to save with every step; a script that fails binds no task-data variable (a list
or dict it changed in place stays changed, and the service layer does not save a failed step).

Not covered in-process: C-level work on structures that share parts many times over (``str()`` or
``==`` of a list holding one big list a thousand times). The memory check stops such a script only
after that one operation, so production workers should also run under a process memory cap.
"""
from __future__ import annotations

import ast
import functools
import importlib
import operator
import os
import re
from datetime import date, datetime, timedelta
from time import monotonic
from types import CodeType
from typing import Any, Callable, Iterable, Iterator, Mapping
from uuid import UUID

from RestrictedPython import compile_restricted_eval, compile_restricted_exec
from RestrictedPython.Guards import guarded_iter_unpack_sequence, guarded_unpack_sequence
from RestrictedPython.transformer import RestrictingNodeTransformer, copy_locations
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment
from SpiffWorkflow.exceptions import SpiffWorkflowException

from engine import catching, clock, scope
from engine.errors import BpmdeskError

#: The package of business functions diagrams call by name (its ``FUNCTIONS`` mapping). The engine
#: knows it by this setting, not by an import: tasks/ uses the engine's clock, and an import each way
#: would make engine and tasks one tangle.
FUNCTIONS_PACKAGE = "BPMDESK_BUSINESS_FUNCTIONS"

#: Longest text, list or tuple (characters or items) one operation may build.
MAX_LENGTH = 1_000_000
#: Largest integer, in bits (about 3,000 decimal digits): money and dates need far less.
MAX_INT_BITS = 10_000
#: Widest field or precision in a format, and largest ``round`` digits.
MAX_FORMAT_WIDTH = 1_000
DEFAULT_MEMORY_LIMIT_MB = 256
#: PythonScriptEngine finds the failing line by this file name in the traceback.
SCRIPT_FILENAME = "<string>"
_MEMORY_CHECK_INTERVAL_S = 0.002


class ScriptError(BpmdeskError):
    """A script or expression in a diagram broke a sandbox rule (forbidden, too big, too long)."""


class ScriptRejected(ScriptError, SyntaxError):
    """The code cannot run at all; a SyntaxError so SpiffWorkflow reports the line."""

    def __init__(self, message: str, lineno: int):
        super().__init__(message)
        self.lineno = lineno


class _OverBudget(BaseException):
    """Time or memory ran out. A BaseException so ``except Exception`` in a script cannot keep it."""


# --- compiling -------------------------------------------------------------------------------

_SIZE_CHECKED_OPERATORS = {ast.Add: "+", ast.Mult: "*", ast.Pow: "**", ast.LShift: "<<", ast.Mod: "%"}
_UNAVAILABLE_CALLS = frozenset({
    "getattr", "setattr", "delattr", "hasattr", "vars", "dir", "globals", "type", "open",
    "compile", "input", "breakpoint", "help", "exit", "quit", "object", "super", "iter", "next",
    "format", "memoryview", "bytearray", "classmethod", "staticmethod", "property",
})


def _call(function: str, args: list[ast.expr], at: ast.AST) -> ast.Call:
    node = ast.Call(func=ast.Name(function, ast.Load()), args=args, keywords=[])
    copy_locations(node, at)
    return node


def _budget_check(at: ast.AST) -> ast.Expr:
    statement = ast.Expr(_call("_tick_", [], at))
    copy_locations(statement, at)
    return statement


class _ScriptPolicy(RestrictingNodeTransformer):
    """RestrictedPython's policy plus clear refusals, budget checks and size-checked operators."""

    def visit_Import(self, node: ast.Import | ast.ImportFrom) -> ast.AST:
        self.error(node, "import statements are not allowed: scripts use the functions the engine provides")
        return node

    visit_ImportFrom = visit_Import

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.AST:
        self.error(node, "class definitions are not allowed in scripts")
        return node

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if node.id in ("print", "printed"):
            self.error(node, "print is not available in scripts: assign the value to a variable instead")
            return node
        return super().visit_Name(node)

    def visit_Call(self, node: ast.Call) -> ast.AST:
        if isinstance(node.func, ast.Name) and node.func.id in _UNAVAILABLE_CALLS:
            self.error(node, f"{node.func.id}() is not available in scripts")
        return super().visit_Call(node)

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        node = self.node_contents_visit(node)
        symbol = _SIZE_CHECKED_OPERATORS.get(type(node.op))
        if symbol is None:
            return node
        return _call("_arith_", [ast.Constant(symbol), node.left, node.right], node)

    def visit_FormattedValue(self, node: ast.FormattedValue) -> ast.AST:
        node = self.node_contents_visit(node)
        if node.format_spec is None:
            return node
        checked = _call("_format_", [node.value, node.format_spec, ast.Constant(node.conversion)], node)
        replacement = ast.FormattedValue(value=checked, conversion=-1, format_spec=None)
        copy_locations(replacement, node)
        return replacement

    def visit_While(self, node: ast.While) -> ast.AST:
        node = self.node_contents_visit(node)
        node.body.insert(0, _budget_check(node))
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        node = super().visit_FunctionDef(node)
        node.body.insert(0, _budget_check(node))
        return node

    def visit_Lambda(self, node: ast.Lambda) -> ast.AST:
        node = super().visit_Lambda(node)
        node.body = ast.BoolOp(op=ast.Or(), values=[_call("_tick_", [], node.body), node.body])
        copy_locations(node.body, node)
        return node


_LINE_OF_ERROR = re.compile(r"^Line (\d+):")


@functools.lru_cache(maxsize=4096)
def _compile(source: str, mode: str) -> CodeType:
    """Compile once per source text: RestrictedPython's AST pass costs far more than a run."""
    compiler = compile_restricted_exec if mode == "exec" else compile_restricted_eval
    result = compiler(source, filename=SCRIPT_FILENAME, policy=_ScriptPolicy)
    if result.errors:
        line = _LINE_OF_ERROR.match(result.errors[0])
        raise ScriptRejected("; ".join(result.errors), int(line.group(1)) if line else 0)
    return result.code


def rejection(source: str, mode: str = "exec") -> ScriptRejected | None:
    """Why the sandbox would refuse to run this script or expression, or None: asked at deploy,
    so a syntax error or a forbidden construct is found before a case reaches it."""
    try:
        _compile(source, mode)
    except ScriptRejected as rejected:
        return rejected
    return None


# --- size checks -----------------------------------------------------------------------------

def _limit_length(length: int) -> None:
    if length > MAX_LENGTH:
        raise ScriptError(f"the result would have {length:,} characters or items; "
                          f"scripts may build at most {MAX_LENGTH:,}")


def _limit_bits(bits: int) -> None:
    if bits > MAX_INT_BITS:
        raise ScriptError(f"the number would need about {bits:,} bits; scripts may use at most {MAX_INT_BITS:,}")


def _limit_width(text: str) -> None:
    digits = text.lstrip("0")
    if len(digits) > 4 or int(digits or "0") > MAX_FORMAT_WIDTH:
        raise ScriptError(f"a format width or precision of {text[:20]} is too large (at most {MAX_FORMAT_WIDTH})")


_SEQUENCES = (str, bytes, list, tuple)
_PERCENT_FIELD = re.compile(r"%(?:\([^)]*\))?[#0 +-]*(\*|\d*)(?:\.(\*|\d*))?")


def _check_percent_format(template: str) -> None:
    for width, precision in _PERCENT_FIELD.findall(template):
        for part in (width, precision):
            if part == "*":
                raise ScriptError("'*' widths in % formatting are not allowed in scripts")
            if part:
                _limit_width(part)


def _check_operands(symbol: str, left: object, right: object) -> None:
    """Refuse before C code builds something huge: each case below is one uninterruptible step."""
    ints = isinstance(left, int) and isinstance(right, int)
    if symbol == "+" and isinstance(left, _SEQUENCES) and isinstance(right, _SEQUENCES):
        _limit_length(len(left) + len(right))
    elif symbol == "*" and ints:
        _limit_bits(left.bit_length() + right.bit_length())
    elif symbol == "*" and isinstance(left, _SEQUENCES) and isinstance(right, int):
        _limit_length(len(left) * right)
    elif symbol == "*" and isinstance(right, _SEQUENCES) and isinstance(left, int):
        _limit_length(len(right) * left)
    elif symbol == "**" and ints and right > 0 and abs(left) > 1:
        _limit_bits(left.bit_length() * right)
    elif symbol == "<<" and ints and right > 0:
        _limit_bits(left.bit_length() + right)
    elif symbol == "%" and isinstance(left, str):
        _check_percent_format(left)


_BINARY = {"+": operator.add, "*": operator.mul, "**": operator.pow, "<<": operator.lshift, "%": operator.mod}
_IN_PLACE = {
    "+=": operator.iadd, "-=": operator.isub, "*=": operator.imul, "/=": operator.itruediv,
    "%=": operator.imod, "**=": operator.ipow, "<<=": operator.ilshift, ">>=": operator.irshift,
    "|=": operator.ior, "^=": operator.ixor, "&=": operator.iand, "//=": operator.ifloordiv,
    "@=": operator.imatmul,
}


def _arith(symbol: str, left: Any, right: Any) -> Any:
    _check_operands(symbol, left, right)
    return _BINARY[symbol](left, right)


def _in_place(symbol: str, left: Any, right: Any) -> Any:
    _check_operands(symbol[:-1], left, right)
    return _IN_PLACE[symbol](left, right)


_CONVERSIONS: dict[int, Callable[[object], str]] = {ord("r"): repr, ord("s"): str, ord("a"): ascii}


def _format(value: object, spec: str, conversion: int) -> str:
    """``f'{value!conversion:spec}'``; the spec is checked because a width is an allocation size."""
    for number in re.findall(r"\d+", spec):
        _limit_width(number)
    convert = _CONVERSIONS.get(conversion)
    return format(convert(value) if convert else value, spec)


def _bounded_range(*args: int) -> range:
    numbers = range(*args)
    try:
        length = len(numbers)
    except OverflowError:
        raise ScriptError(f"range{args} is far longer than the {MAX_LENGTH:,} items scripts may use") from None
    _limit_length(length)
    return numbers


def _round(number: Any, ndigits: int | None = None) -> Any:
    if ndigits is None:
        return round(number)
    if abs(ndigits) > MAX_FORMAT_WIDTH:
        raise ScriptError(f"round() to {ndigits} digits is not allowed (at most {MAX_FORMAT_WIDTH})")
    return round(number, ndigits)


def _sum(items: Iterable[Any], start: int | float = 0) -> Any:
    """Sum numbers only: summing lists or text is quadratic work in one C call."""
    if not isinstance(start, (int, float)):
        raise ScriptError("sum() adds numbers; join text with ''.join(...) and lists with a loop")
    return sum(items, start)


def _checked_join(join: Callable[[list], str]) -> Callable[[Iterable[Any]], str]:
    separator = join.__self__

    def checked(items: Iterable[Any]) -> str:
        items = list(items)
        texts = sum(len(item) for item in items if isinstance(item, str))
        _limit_length(texts + len(separator) * max(len(items) - 1, 0))
        return join(items)
    return checked


def _checked_replace(replace: Callable[..., str]) -> Callable[..., str]:
    text = replace.__self__

    def checked(old: str, new: str, count: int = -1) -> str:
        hits = text.count(old)
        hits = hits if count < 0 else min(hits, count)
        _limit_length(len(text) + hits * (len(new) - len(old)))
        return replace(old, new, count)
    return checked


def _checked_width(pad: Callable[..., str]) -> Callable[..., str]:
    def checked(width: int, *fill: str) -> str:
        _limit_length(width)
        return pad(width, *fill)
    return checked


def _checked_extend(extend: Callable[[Iterable[Any]], None]) -> Callable[[Iterable[Any]], None]:
    target = extend.__self__

    def checked(items: Iterable[Any]) -> None:
        items = list(items)
        _limit_length(len(target) + len(items))
        extend(items)
    return checked


# --- attribute access ------------------------------------------------------------------------

_DATE_ATTRIBUTES = frozenset({
    "year", "month", "day", "weekday", "isoweekday", "isocalendar", "isoformat", "replace",
    "strftime", "toordinal",
})
#: Public attributes a script may read, per type of value (looked up along the type's MRO).
_ATTRIBUTES: dict[type, frozenset[str]] = {
    str: frozenset({
        "capitalize", "casefold", "center", "count", "endswith", "find", "index", "isalnum",
        "isalpha", "isdecimal", "isdigit", "islower", "isnumeric", "isspace", "istitle", "isupper",
        "join", "ljust", "lower", "lstrip", "partition", "removeprefix", "removesuffix", "replace",
        "rfind", "rindex", "rjust", "rpartition", "rsplit", "rstrip", "split", "splitlines",
        "startswith", "strip", "swapcase", "title", "upper", "zfill",
    }),
    list: frozenset({
        "append", "clear", "copy", "count", "extend", "index", "insert", "pop", "remove", "reverse", "sort",
    }),
    dict: frozenset({"clear", "copy", "get", "items", "keys", "pop", "popitem", "setdefault", "update", "values"}),
    tuple: frozenset({"count", "index"}),
    set: frozenset({
        "add", "clear", "copy", "difference", "difference_update", "discard", "intersection",
        "intersection_update", "isdisjoint", "issubset", "issuperset", "pop", "remove",
        "symmetric_difference", "symmetric_difference_update", "union", "update",
    }),
    frozenset: frozenset({"copy", "difference", "intersection", "isdisjoint", "issubset", "issuperset",
                          "symmetric_difference", "union"}),
    float: frozenset({"is_integer"}),
    datetime: _DATE_ATTRIBUTES | {"hour", "minute", "second", "microsecond", "date", "astimezone", "timestamp"},
    date: _DATE_ATTRIBUTES,
    timedelta: frozenset({"days", "seconds", "microseconds", "total_seconds"}),
}
#: Attributes of the classes scripts can name (builtin types have none available).
_CLASS_ATTRIBUTES: dict[type, frozenset[str]] = {
    datetime: frozenset({"fromisoformat", "combine", "min", "max"}),
    date: frozenset({"fromisoformat", "fromordinal", "min", "max"}),
    timedelta: frozenset({"min", "max"}),
}
_SIZE_CHECKED_METHODS: dict[tuple[type, str], Callable[[Any], Any]] = {
    (str, "join"): _checked_join,
    (str, "replace"): _checked_replace,
    (str, "center"): _checked_width,
    (str, "ljust"): _checked_width,
    (str, "rjust"): _checked_width,
    (str, "zfill"): _checked_width,
    (list, "extend"): _checked_extend,
}
_CLOCK_READS = frozenset({"now", "today", "utcnow"})


class CamundaExecution:
    """`execution` in a script, as Camunda's DelegateExecution offers it to scripts ported from
    Camunda: the variables are the script's own (one scope per case, see engine.scope), so
    `execution.setVariable("x", 1)` is `x = 1` and `execution.getVariable("x")` is x, or None when
    x is not set. `facts` are what the engine knows of the run (business key, element, listener
    event; see engine.listeners). Only these methods are reachable (the attribute guard allows no
    others)."""

    def __init__(self, namespace: dict[str, Any], functions: Mapping[str, Any], facts: Mapping[str, Any]):
        self._namespace = namespace
        self._functions = functions
        self._facts = facts

    def _data(self, name: str) -> str:
        if not isinstance(name, str) or not name.isidentifier() or name in _RESERVED or name in self._functions:
            raise ScriptError(f"{name!r} cannot be a variable name")
        return name

    def getVariable(self, name: str) -> Any:  # noqa: N802 - Camunda's name
        value = self._namespace.get(self._data(name))
        return None if callable(value) or isinstance(value, CamundaExecution) else value

    getVariableLocal = getVariable

    def setVariable(self, name: str, value: Any) -> None:  # noqa: N802
        self._namespace[self._data(name)] = value

    setVariableLocal = setVariable

    def hasVariable(self, name: str) -> bool:  # noqa: N802
        return self.getVariable(name) is not None or self._data(name) in self._namespace

    def removeVariable(self, name: str) -> None:  # noqa: N802
        self._namespace.pop(self._data(name), None)

    def getVariables(self) -> dict[str, Any]:  # noqa: N802
        return {name: value for name, value in self._namespace.items() if name not in _RESERVED
                and name not in self._functions and not callable(value) and not isinstance(value, CamundaExecution)}

    def getProcessBusinessKey(self) -> str | None:  # noqa: N802
        return self._facts.get("businessKey")

    getBusinessKey = getProcessBusinessKey

    def getCurrentActivityId(self) -> str | None:  # noqa: N802
        return self._facts.get("activityId")

    def getCurrentActivityName(self) -> str | None:  # noqa: N802
        return self._facts.get("activityName")

    def getEventName(self) -> str | None:  # noqa: N802
        return self._facts.get("eventName")


class CamundaTask(CamundaExecution):
    """`task` in a task listener, as Camunda's DelegateTask: the variables as `execution` has them,
    and the task's assignee (what `camunda:assignee` gave, or who holds it); `setAssignee` gives
    the task to someone (engine.listeners applies it). `facts` is the listener's own dict."""

    def getAssignee(self) -> str | None:  # noqa: N802
        return self._facts.get("assignee")

    def setAssignee(self, name: str | None) -> None:  # noqa: N802
        if name is not None and not isinstance(name, str):
            raise ScriptError(f"task.setAssignee needs a user name, not {type(name).__name__}")
        self._facts["assignee"] = name  # type: ignore[index] - the listener's own, mutable facts

    def getName(self) -> str | None:  # noqa: N802
        return self._facts.get("activityName")

    def getTaskDefinitionKey(self) -> str | None:  # noqa: N802
        return self._facts.get("activityId")


EXECUTION_METHODS = frozenset({"getVariable", "getVariableLocal", "setVariable", "setVariableLocal", "hasVariable",
                                "removeVariable", "getVariables", "getProcessBusinessKey", "getBusinessKey",
                                "getCurrentActivityId", "getCurrentActivityName", "getEventName"})
TASK_METHODS = EXECUTION_METHODS | {"getAssignee", "setAssignee", "getName", "getTaskDefinitionKey"}
#: The external-context key under which the engine hands a run its facts (a name no script can write).
FACTS = "_camunda_facts_"


def _allowed_attributes(obj: object) -> tuple[type | None, frozenset[str]]:
    if isinstance(obj, CamundaTask):
        return CamundaTask, TASK_METHODS
    if isinstance(obj, CamundaExecution):
        return CamundaExecution, EXECUTION_METHODS
    if isinstance(obj, type):
        return None, _CLASS_ATTRIBUTES.get(obj, frozenset())
    for kind in type(obj).__mro__:
        if kind in _ATTRIBUTES:
            return kind, _ATTRIBUTES[kind]
    return None, frozenset()


def _read_attribute(obj: object, name: str) -> Any:
    """The ``_getattr_`` guard: ``value.name`` only for allow-listed public attributes."""
    if name in _CLOCK_READS and (isinstance(obj, date) or (isinstance(obj, type) and issubclass(obj, date))):
        raise ScriptError(f"use now() or today() instead of .{name}(): "
                          "the engine's clock, which replays and tests can fix")
    kind, allowed = _allowed_attributes(obj)
    if name not in allowed:
        what = obj.__name__ if isinstance(obj, type) else f"{type(obj).__name__} values"
        hint = " (use an f-string)" if name in ("format", "format_map") else ""
        raise ScriptError(f"scripts cannot use .{name} of {what}{hint}")
    value = getattr(obj, name)
    size_check = _SIZE_CHECKED_METHODS.get((kind, name))
    return size_check(value) if size_check else value


def _writable(obj: object) -> object:
    """The ``_write_`` guard: scripts change items of lists and dicts, nothing else."""
    if isinstance(obj, (dict, list)):
        return obj
    raise ScriptError(f"scripts can only change items of lists and dicts, not of a {type(obj).__name__}")


def _apply(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return function(*args, **kwargs)


# --- what a script sees ----------------------------------------------------------------------

def _today() -> date:
    return clock.now().astimezone(clock.local_tz()).date()


def _now_iso() -> str:
    """Now in the local zone as ISO text, the form business functions and task data use."""
    return clock.now().astimezone(clock.local_tz()).isoformat(timespec="seconds")


_BUILTINS: dict[str, Any] = {
    "abs": abs, "all": all, "any": any, "bool": bool, "dict": dict, "divmod": divmod,
    "enumerate": enumerate, "filter": filter, "float": float, "int": int, "isinstance": isinstance,
    "len": len, "list": list, "map": map, "max": max, "min": min, "range": _bounded_range,
    "reversed": reversed, "round": _round, "set": set, "sorted": sorted, "str": str, "sum": _sum,
    "tuple": tuple, "zip": zip,
    "Exception": Exception, "ValueError": ValueError, "TypeError": TypeError, "KeyError": KeyError,
    "IndexError": IndexError, "ZeroDivisionError": ZeroDivisionError,
    "datetime": datetime, "date": date, "timedelta": timedelta,
    # Literals as Camunda Modeler writes them in DMN cells and JUEL; task data of that name wins.
    "true": True, "false": False, "null": None,
    "now": clock.now, "today": _today, "now_iso": _now_iso,
}
_GUARDS: dict[str, Any] = {
    "_getattr_": _read_attribute,
    "_getitem_": operator.getitem,
    "_write_": _writable,
    "_apply_": _apply,
    "_arith_": _arith,
    "_inplacevar_": _in_place,
    "_format_": _format,
    "_unpack_sequence_": guarded_unpack_sequence,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
}
#: Names every run's namespace reserves; never task data.
_RESERVED = frozenset([*_GUARDS, "_tick_", "_getiter_", "__builtins__"])


def provided_names() -> frozenset[str]:
    """Names a script or condition may use without any process variable of that name (deploy's lint)."""
    return frozenset([*_BUILTINS, "locals", "execution", *business_functions(), *_RESERVED])


def _resident_bytes() -> int | None:
    """This process's resident memory; None where /proc is not available."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


class _Budget:
    """Time and memory one run may use.

    Memory is the process's resident growth, measured from the first check (2 ms into the run) so
    that the many runs shorter than that never pay for reading it.
    """

    def __init__(self, seconds: float, memory_bytes: int):
        self.seconds = seconds
        self.deadline = monotonic() + seconds
        self.memory_bytes = memory_bytes
        self.memory_start: int | None = None
        self.next_memory_check = monotonic() + _MEMORY_CHECK_INTERVAL_S

    def tick(self) -> None:
        """Called by every loop iteration and script-defined function call."""
        current = monotonic()
        if current > self.deadline:
            raise _OverBudget(f"the script ran longer than {self.seconds:g} s and was stopped")
        if current >= self.next_memory_check:
            self.next_memory_check = current + _MEMORY_CHECK_INTERVAL_S
            self._check_memory()

    def _check_memory(self) -> None:
        resident = _resident_bytes()
        if resident is None:
            return
        if self.memory_start is None:
            self.memory_start = resident
        elif resident - self.memory_start > self.memory_bytes:
            raise _OverBudget(f"the script used more than {self.memory_bytes // 2**20} MB of memory and was stopped")

    def iterate(self, iterable: Iterable[Any]) -> Iterator[Any]:
        """The ``_getiter_`` guard: every for loop and comprehension step checks the budget."""
        tick = self.tick
        for item in iterable:
            tick()
            yield item


# --- what may leave the sandbox --------------------------------------------------------------

_SCALARS = (int, float, bool, type(None), datetime, timedelta, UUID)
_MAX_NESTING = 50
_TOO_LARGE = f"is too large for task data (more than {MAX_LENGTH:,} items and characters)"


class _Unstorable(Exception):
    """Why a value cannot go into task data."""


def _stored_size(value: object, sizes: dict[int, int | None], depth: int = 0) -> int:
    """Items and characters ``value`` has when saved (shared parts count each time they appear,
    as in JSON), or :class:`_Unstorable`. Work stops once the size passes the limit."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, _SCALARS):
        return 1
    if isinstance(value, date):
        raise _Unstorable("holds a date; store it as text with .isoformat()")
    if not isinstance(value, (list, tuple, dict)):
        hint = " (convert it with list(...))" if hasattr(value, "__iter__") else ""
        raise _Unstorable(f"holds a {type(value).__name__}, which task data cannot store{hint}")
    if id(value) in sizes:
        known = sizes[id(value)]
        if known is None:
            raise _Unstorable("contains itself")
        return known
    if depth > _MAX_NESTING:
        raise _Unstorable("is nested too deeply")
    sizes[id(value)] = None
    size = len(value)
    for item in [*value.keys(), *value.values()] if isinstance(value, dict) else value:
        if size > MAX_LENGTH:
            raise _Unstorable(_TOO_LARGE)
        size += _stored_size(item, sizes, depth + 1)
    sizes[id(value)] = size
    return size


def _ensure_storable(name: str, value: object) -> None:
    """Refuse what the serializer cannot store, or what would bloat every save of the instance."""
    try:
        if _stored_size(value, {}) > MAX_LENGTH:
            raise _Unstorable(_TOO_LARGE)
    except _Unstorable as problem:
        raise ScriptError(f"{name} {problem}") from None


# --- the environment -------------------------------------------------------------------------

class SandboxEnvironment(BasePythonScriptEngineEnvironment):
    """Runs diagram code under RestrictedPython with a time and memory budget per run.

    ``functions`` are the business functions scripts call by name (default: :func:`business_functions`).
    """

    def __init__(self, functions: Mapping[str, Callable[..., Any]] | None = None,
                 time_limit_s: float = 1.0, memory_limit_mb: int = DEFAULT_MEMORY_LIMIT_MB):
        functions = business_functions() if functions is None else functions
        for name in functions:
            if not name.isidentifier() or name.startswith("_") or name in _BUILTINS:
                raise ValueError(f"{name!r} cannot be a business function name in scripts")
        super().__init__(dict(functions))
        self.time_limit_s = time_limit_s
        self.memory_limit_bytes = memory_limit_mb * 2**20

    def evaluate(self, expression: str, context: dict[str, Any],
                 external_context: Mapping[str, Any] | None = None) -> Any:
        code = _compile(expression.strip(), "eval")
        external_context = dict(external_context or {})
        facts = external_context.pop(FACTS, {})
        namespace = self._namespace(self.globals, external_context, context)
        if "execution" in expression and "execution" not in context:  # ${execution.processBusinessKey}
            namespace["execution"] = CamundaExecution(namespace, self.globals, facts)
        result = self._run(code, namespace)
        _ensure_storable("the expression's value", result)
        return result

    def execute(self, script: str, context: dict[str, Any],
                external_context: Mapping[str, Any] | None = None) -> bool:
        external_context = dict(external_context or {})
        facts = external_context.pop(FACTS, {})
        self._refuse_shadowed_functions(context)
        code = _compile(script, "exec")
        namespace = self._namespace(context, self.globals, external_context)
        skipped = _RESERVED | set(external_context)
        if "execution" in script and "execution" not in context:  # Camunda's object, for ported scripts
            namespace["execution"] = CamundaExecution(namespace, self.globals, facts)
            skipped = skipped | {"execution"}
        if facts.get("task_listener") and "task" in script and "task" not in context:  # its DelegateTask
            namespace["task"] = CamundaTask(namespace, self.globals, facts)
            skipped = skipped | {"task"}
        self._run(code, namespace)
        self._write_back(namespace, context, skipped)
        return True

    def _refuse_shadowed_functions(self, context: Mapping[str, Any]) -> None:
        """Task data named like a function would make the function uncallable with a baffling error."""
        shadowed = sorted(set(self.globals) & set(context))
        if shadowed:
            raise ScriptError(f"task data {', '.join(shadowed)} has the name of a business function; "
                              "rename the form field or variable")

    def _namespace(self, *layers: Mapping[str, Any]) -> dict[str, Any]:
        """One run's variables: later layers win, and the guards win over all, so that task data
        can never replace one."""
        budget = _Budget(self.time_limit_s, self.memory_limit_bytes)
        namespace: dict[str, Any] = {}
        for layer in layers:
            namespace.update(layer)

        def variables() -> dict[str, Any]:
            """``locals()``: a copy of the run's data variables, for the ``'x' in locals()`` idiom."""
            return {name: value for name, value in namespace.items()
                    if name not in _RESERVED and not callable(value)}

        namespace.update(_GUARDS, _tick_=budget.tick, _getiter_=budget.iterate,
                         __builtins__={**_BUILTINS, "locals": variables})
        return namespace

    @staticmethod
    def _run(code: CodeType, namespace: dict[str, Any]) -> Any:
        try:
            return eval(code, namespace)  # noqa: S307 - restricted code, guarded namespace
        except _OverBudget as over:
            # Re-raised as an ordinary error with the script's frames, so the engine names the line.
            raise ScriptError(str(over)).with_traceback(over.__traceback__) from None

    def _write_back(self, namespace: dict[str, Any], context: dict[str, Any], skipped: set[str]) -> None:
        """Copy the script's variables into task data: data only, all checked before any change."""
        updates: dict[str, Any] = {}
        for name, value in namespace.items():
            if name in skipped:
                continue
            if name in self.globals:
                if value is not self.globals[name]:
                    raise ScriptError(f"{name} is a business function; store the result under another name")
                continue
            if not callable(value):
                _ensure_storable(name, value)
                updates[name] = value
        for name in [name for name in context if name not in updates]:
            del context[name]
        context.update(updates)


class SandboxScriptEngine(PythonScriptEngine):
    """PythonScriptEngine whose expression errors say why, not only which expression failed, and
    whose scripts set their variables on the whole case (see engine.scope)."""

    def execute(self, task: Any, script: str, external_context: Mapping[str, Any] | None = None) -> Any:
        before = dict(task.data)
        loop = scope.loop_variables(task)  # loopCounter … inside a multi-instance activity (not stored)
        result = super().execute(task, script, {FACTS: facts_of(task), **loop, **(external_context or {})})
        scope.share_changes(task, before)
        return result

    def evaluate(self, task: Any, expression: str, external_context: Mapping[str, Any] | None = None) -> Any:
        loop = scope.loop_variables(task)  # nrOfInstances … inside a multi-instance activity
        external_context = {FACTS: facts_of(task), **loop, **(external_context or {})}
        try:
            return super().evaluate(task, expression, external_context)
        except WorkflowTaskException as error:
            cause = error.__context__
            if isinstance(cause, Exception) and not isinstance(cause, SpiffWorkflowException):
                error.add_note(f"{type(cause).__name__}: {cause}")
            raise


def facts_of(task: Any) -> dict[str, Any]:
    """What Camunda's `execution` tells a script or expression of this task beyond the variables."""
    spec = task.task_spec
    return {"businessKey": catching.business_key(task.workflow), "activityId": getattr(spec, "bpmn_id", None),
            "activityName": getattr(spec, "bpmn_name", None)}


@functools.cache
def business_functions() -> Mapping[str, Callable[..., Any]]:
    """The centre's business functions: ``FUNCTIONS`` of the package named by
    ``BPMDESK_BUSINESS_FUNCTIONS`` (default ``tasks``, this repository's tasks/)."""
    return importlib.import_module(os.environ.get(FUNCTIONS_PACKAGE, "").strip() or "tasks").FUNCTIONS


def make_script_engine(functions: Mapping[str, Callable[..., Any]] | None = None) -> PythonScriptEngine:
    """The script engine every workflow runs with: the sandbox plus the business functions."""
    return SandboxScriptEngine(environment=SandboxEnvironment(functions))
