"""FEEL text → lark parse tree → a tree of Python closures, compiled once and run many times.

Nothing here evaluates analyst text as Python: the grammar (feel.lark) decides what a text means,
and each tree node becomes a small closure over already-compiled children. Literal sub-trees are
folded into constants at compile time, so a decision table's cells cost a comparison each.
A run has a budget: every loop step (for, some/every, filters, user functions) ticks it, and a
run over its time is stopped; values are size-checked where one step could build a huge one.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from time import monotonic
from typing import Any, Callable, Iterable, Mapping

import lark
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from engine.feel import values as v
from engine.feel.builtins import BUILTINS, sort_list
from engine.feel.values import FeelError, Function, Range, YearsMonths

#: Longest FEEL text accepted (a decision table cell is a few dozen characters).
MAX_TEXT = 10_000
#: How long one evaluation may run.
TIME_LIMIT_S = 1.0
_MAX_CALL_DEPTH = 100

_PARSER = lark.Lark((Path(__file__).with_name("feel.lark")).read_text(encoding="utf-8"), parser="lalr",
                    start=["expression", "tests"], maybe_placeholders=True, cache=False)


class FeelSyntaxError(ValueError):
    """The text is not FEEL; `column` is 1-based."""

    def __init__(self, message: str, column: int = 1):
        super().__init__(message)
        self.column = column


class TypeMismatch(Exception):
    """A unary test compared the input with a value of another type (a text against a number)."""

    def __init__(self, value: Any, other: Any):
        super().__init__(f"the input is {v.kind(value)} {_show(value)} but the test needs {v.kind(other)}")
        self.value, self.other = value, other


def _show(value: Any) -> str:
    text = repr(v.from_feel(value))
    return text if len(text) <= 60 else text[:57] + "..."


# --- the run-time scope ------------------------------------------------------------------------

class Budget:
    __slots__ = ("deadline", "steps", "depth")

    def __init__(self, seconds: float = TIME_LIMIT_S):
        self.deadline = monotonic() + seconds
        self.steps = 0
        self.depth = 0

    def tick(self) -> None:
        self.steps += 1
        if self.steps & 0x3FF == 0 and monotonic() > self.deadline:
            raise FeelError(f"the expression ran longer than {TIME_LIMIT_S:g} s and was stopped")


_MISSING = object()


class Scope:
    """Variables visible to one evaluation: a chain of dicts over the task data (converted lazily)."""

    __slots__ = ("names", "parent", "budget", "data")

    def __init__(self, names: dict[str, Any], parent: "Scope | None" = None,
                 budget: Budget | None = None, data: Mapping[str, Any] | None = None):
        self.names = names
        self.parent = parent
        self.budget = budget if budget is not None else (parent.budget if parent else Budget())
        self.data = data

    def lookup(self, name: str) -> Any:
        scope: Scope | None = self
        while scope is not None:
            found = scope.names.get(name, _MISSING)
            if found is not _MISSING:
                return found
            if scope.data is not None and name in scope.data:
                found = scope.names[name] = v.to_feel(scope.data[name])
                return found
            scope = scope.parent
        return _MISSING

    def child(self, names: dict[str, Any]) -> "Scope":
        return Scope(names, self, self.budget)


def root_scope(data: Mapping[str, Any] | None = None, budget: Budget | None = None) -> Scope:
    return Scope({}, None, budget or Budget(), data or {})


Compiled = Callable[[Scope], Any]


class Const:
    """A compiled node whose value is known at compile time."""

    __slots__ = ("value",)

    def __init__(self, value: Any):
        self.value = value

    def __call__(self, scope: Scope) -> Any:
        return self.value


def _fold(function: Callable[..., Any], *children: Compiled) -> Compiled:
    """`function(*child values)`, computed now when every child is a constant."""
    if all(isinstance(child, Const) for child in children):
        try:
            return Const(function(*(child.value for child in children)))
        except FeelError:
            pass
    if len(children) == 1:
        (only,) = children
        return lambda scope: function(only(scope))
    left, right = children[0], children[1]
    if len(children) == 2:
        return lambda scope: function(left(scope), right(scope))
    return lambda scope: function(*(child(scope) for child in children))


# --- parsing -----------------------------------------------------------------------------------

def parse(text: str, start: str) -> lark.Tree:
    if len(text) > MAX_TEXT:
        raise FeelSyntaxError(f"the text has {len(text):,} characters; at most {MAX_TEXT:,} are allowed")
    try:
        return _PARSER.parse(text, start=start)
    except UnexpectedInput as error:
        raise FeelSyntaxError(_describe(error, text), getattr(error, "column", 1) or 1) from None


_FULL_WIDTH = {"，": ",", "（": "(", "）": ")", "“": '"', "”": '"', "：": ":", "【": "[", "】": "]", "；": ";"}
_SYMBOLS = {"RPAR": ")", "RSQB": "]", "RBRACE": "}", "COMMA": ",", "RANGE": "..", "COLON": ":",
            "THEN": "then", "ELSE": "else", "RETURN": "return", "SATISFIES": "satisfies", "IN": "in",
            "AND": "and", "OF": "of", "CLOSE_LSQB": "["}


def _describe(error: UnexpectedInput, text: str) -> str:
    column = getattr(error, "column", "?")
    if isinstance(error, UnexpectedCharacters):
        char = text[error.pos_in_stream] if error.pos_in_stream < len(text) else ""
        if char in _FULL_WIDTH:
            return (f"full-width {char!r} at column {column}: FEEL needs the ASCII {_FULL_WIDTH[char]!r} "
                    "(Chinese text goes inside \"…\")")
        if char == "'":
            return f"' at column {column}: FEEL strings use double quotes \"…\""
        return f"unexpected character {char!r} at column {column}"
    if isinstance(error, UnexpectedEOF) or (isinstance(error, UnexpectedToken) and error.token.type == "$END"):
        expected = _expected(getattr(error, "expected", ()))
        return "the text ends too early" + (f" (expected {expected})" if expected else "")
    token = error.token if isinstance(error, UnexpectedToken) else None
    expected = _expected(error.expected if isinstance(error, UnexpectedToken) else ())
    shown = f"{str(token)!r}" if token is not None else "input"
    return f"unexpected {shown} at column {column}" + (f" (expected {expected})" if expected else "")


def _expected(names: Iterable[str]) -> str:
    shown = sorted({_SYMBOLS[name] for name in names if name in _SYMBOLS})
    return " or ".join(f"'{s}'" for s in shown[:4])


# --- compiling ---------------------------------------------------------------------------------

def compile_tree(tree: lark.Tree) -> Compiled:
    try:
        _check_calls(tree)
        return _compile(tree)
    except RecursionError:
        raise FeelSyntaxError("the expression is nested too deeply") from None


def _check_calls(tree: lark.Tree) -> None:
    """A call of a name that is no built-in and no function the expression defines itself would
    be null on every run (a typo such as `lenght(x)`): refused now."""
    calls = [node.children[0] for node in tree.iter_subtrees() if node.data == "call"]
    named = [callee for callee in calls if callee.data == "var"]
    if not named:
        return
    defined = {_name(node.children[0]) for node in tree.iter_subtrees()
               if node.data in ("entry", "iteration") and isinstance(node.children[0], lark.Tree)}
    defined |= {_name(p) for node in tree.iter_subtrees() if node.data == "function_def"
                for p in node.children[1:-1] if isinstance(p, lark.Tree)}
    for callee in named:
        name = _name(callee.children[0])
        if name not in BUILTINS and name not in defined:
            close = [known for known in BUILTINS if known.replace(" ", "") == name.replace(" ", "")]
            hint = f" (did you mean {close[0]!r}?)" if close else " (FEEL built-ins are written with spaces, e.g. 'string length')"
            raise FeelSyntaxError(f"unknown function {name!r}{hint}")


def _compile(node: Any) -> Compiled:
    handler = _HANDLERS.get(node.data)
    if handler is None:
        raise FeelSyntaxError(f"{node.data} is not supported here")
    return handler(*node.children)


def _text(token: lark.Token) -> str:
    return str(token)


def _name(tree: lark.Tree) -> str:
    return " ".join(" ".join(str(token).split()) for token in tree.children)


def _string(token: lark.Token) -> str:
    body, out, index = str(token)[1:-1], [], 0
    while index < len(body):
        char = body[index]
        if char == "\\" and index + 1 < len(body):
            following = body[index + 1]
            if following == "u" and index + 5 < len(body):
                out.append(chr(int(body[index + 2:index + 6], 16)))
                index += 6
                continue
            out.append(_ESCAPES.get(following, "\\" + following))  # "\d" stays for regexes
            index += 2
            continue
        out.append(char)
        index += 1
    return "".join(out)


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "'": "'"}


def _at_literal(token: lark.Token) -> Compiled:
    value = v.parse_temporal(_string(token))
    if value is None:
        raise FeelSyntaxError(f"@{token} is not a date, time, date and time or duration")
    return Const(value)


def _var(name_tree: lark.Tree) -> Compiled:
    name = _name(name_tree)
    builtin = BUILTINS.get(name)

    def variable(scope: Scope) -> Any:
        found = scope.lookup(name)
        if found is _MISSING:
            return builtin
        return found
    return variable


def _input_value(_token: lark.Token) -> Compiled:
    def current(scope: Scope) -> Any:
        found = scope.lookup("?")
        return None if found is _MISSING else found
    return current


def _path(target: lark.Tree, name_tree: lark.Tree) -> Compiled:
    name = _name(name_tree)
    return _fold(lambda value: member(value, name), _compile(target))


def member(value: Any, name: str) -> Any:
    """`value.name`: a context entry, the same entry of every item of a list, or a property."""
    if isinstance(value, dict):
        return value.get(name)
    if isinstance(value, list):
        return [member(item, name) for item in value]
    getter = _PROPERTIES.get((type(value), name)) or _PROPERTIES.get((_base(value), name))
    return getter(value) if getter else None


def _base(value: Any) -> type:
    for kind in (datetime, date, time, timedelta, YearsMonths, Range):
        if isinstance(value, kind):
            return kind
    return type(value)


def _offset(value: Any) -> Any:
    offset = value.utcoffset() if hasattr(value, "utcoffset") else None
    return offset


def _zone(value: Any) -> Any:
    zone = getattr(value, "tzinfo", None)
    return getattr(zone, "key", None) if zone is not None else None


_TIME_PROPERTIES = {
    "hour": lambda t: Decimal(t.hour), "minute": lambda t: Decimal(t.minute),
    "second": lambda t: Decimal(t.second) + Decimal(t.microsecond) / 1_000_000,
    "time offset": _offset, "timezone": _zone,
}
_DATE_PROPERTIES = {
    "year": lambda d: Decimal(d.year), "month": lambda d: Decimal(d.month), "day": lambda d: Decimal(d.day),
    "weekday": lambda d: Decimal(d.isoweekday()),
}
_PROPERTIES: dict[tuple[type, str], Callable[[Any], Any]] = {
    **{(date, key): getter for key, getter in _DATE_PROPERTIES.items()},
    **{(datetime, key): getter for key, getter in {**_DATE_PROPERTIES, **_TIME_PROPERTIES}.items()},
    **{(time, key): getter for key, getter in _TIME_PROPERTIES.items()},
    (timedelta, "days"): lambda d: Decimal(d.days if d >= timedelta(0) else -((-d).days)),
    (timedelta, "hours"): lambda d: Decimal(_signed(d, lambda p: p.seconds // 3600)),
    (timedelta, "minutes"): lambda d: Decimal(_signed(d, lambda p: p.seconds % 3600 // 60)),
    (timedelta, "seconds"): lambda d: Decimal(_signed(d, lambda p: p.seconds % 60)),
    (YearsMonths, "years"): lambda d: Decimal(int(d.months / 12)),
    (YearsMonths, "months"): lambda d: Decimal(abs(d.months) % 12 * (1 if d.months >= 0 else -1)),
    (Range, "start"): lambda r: r.start, (Range, "end"): lambda r: r.end,
    (Range, "start included"): lambda r: r.start_included, (Range, "end included"): lambda r: r.end_included,
}


def _signed(duration: timedelta, part: Callable[[timedelta], int]) -> int:
    return part(duration) if duration >= timedelta(0) else -part(-duration)


def _filter(target: lark.Tree, condition: lark.Tree) -> Compiled:
    items_of, test = _compile(target), _compile(condition)

    def filtered(scope: Scope) -> Any:
        items = items_of(scope)
        if items is None:
            return None
        items = items if isinstance(items, list) else [items]
        if isinstance(test, Const) and v.is_number(test.value):
            return _index(items, test.value)
        kept = []
        for position, item in enumerate(items):
            scope.budget.tick()
            names = {"item": item, **item} if isinstance(item, dict) else {"item": item}
            result = test(scope.child(names))
            if position == 0 and v.is_number(result):
                return _index(items, result)
            if result is True:
                kept.append(item)
        return kept
    return filtered


def _index(items: list, position: Decimal) -> Any:
    if position != position.to_integral_value() or position == 0:
        return None
    index = int(position)
    index = index - 1 if index > 0 else len(items) + index
    return items[index] if 0 <= index < len(items) else None


def _arguments(tree: lark.Tree | None) -> tuple[list[Compiled], list[tuple[str, Compiled]]]:
    positional, named = [], []
    for argument in tree.children if tree is not None else ():
        if argument.data == "named":
            named.append((_name(argument.children[0]), _compile(argument.children[1])))
        else:
            positional.append(_compile(argument.children[0]))
    return positional, named


def _call(callee: lark.Tree, arguments: lark.Tree | None) -> Compiled:
    function_of = _compile(callee)
    positional, named = _arguments(arguments)
    fixed_builtin = _builtin_of(callee)
    if fixed_builtin is BUILTINS["is defined"] and len(positional) == 1 and not named:
        return _defined(arguments.children[0].children[0])
    if fixed_builtin is sort_builtin:
        return lambda scope: _sort(scope, [argument(scope) for argument in positional], named)
    if fixed_builtin is not None and fixed_builtin.name not in _IMPURE and not named:
        return _fold(lambda *args: invoke(fixed_builtin, list(args), None, None), *positional) \
            if positional else Const(invoke(fixed_builtin, [], None, None))

    def call(scope: Scope) -> Any:
        function = function_of(scope)
        if not isinstance(function, Function):
            return None
        args = [argument(scope) for argument in positional]
        names = {name: argument(scope) for name, argument in named} if named else None
        return invoke(function, args, names, scope)
    return call


_IMPURE = frozenset({"now", "today"})


def _defined(tree: lark.Tree) -> Compiled:
    """`is defined(x)` as Camunda's FEEL has it: false for a variable or context entry that does not
    exist, true for any value — null included (so a variable set to null is defined)."""
    if tree.data == "var":
        name = _name(tree.children[0])
        return lambda scope: scope.lookup(name) is not _MISSING
    if tree.data == "path":
        target, name = tree.children[0], _name(tree.children[1])
        exists, value_of = _defined(target), _compile(target)

        def entry_exists(scope: Scope) -> bool:
            if not exists(scope):
                return False
            value = value_of(scope)
            return name in value if isinstance(value, dict) else member(value, name) is not None
        return entry_exists
    return Const(True)


def _builtin_of(callee: lark.Tree) -> Function | None:
    """The built-in a call names, when no variable could hide it (built-in names are reserved)."""
    if callee.data == "var":
        return BUILTINS.get(_name(callee.children[0]))
    return None


def invoke(function: Function, args: list, names: dict[str, Any] | None, scope: Scope | None) -> Any:
    if names:
        if function.variadic and not function.parameters:
            return None
        unknown = set(names) - set(function.parameters)
        if unknown:
            return None
        args = [names.get(parameter, _MISSING) for parameter in function.parameters]
        while args and args[-1] is _MISSING:
            args.pop()
        if _MISSING in args:
            return None
    if scope is not None:
        scope.budget.depth += 1
        if scope.budget.depth > _MAX_CALL_DEPTH:
            raise FeelError(f"functions call each other more than {_MAX_CALL_DEPTH} levels deep")
    try:
        return function.call(*args)
    except TypeError:
        return None  # wrong number of arguments: null, as for any invalid invocation
    finally:
        if scope is not None:
            scope.budget.depth -= 1


sort_builtin = Function("sort", ("list", "precedes"), lambda *args: None)
BUILTINS["sort"] = sort_builtin


def _sort(scope: Scope, args: list, named: list) -> Any:
    values = {name: argument(scope) for name, argument in named}
    items = args[0] if args else values.get("list")
    precedes = args[1] if len(args) > 1 else values.get("precedes")

    def call(function: Function, arguments: list) -> Any:
        scope.budget.tick()
        return invoke(function, arguments, None, scope)
    return sort_list(items, precedes, call)


def _not_call(_token: lark.Token, arguments: lark.Tree | None) -> Compiled:
    positional, named = _arguments(arguments)
    if len(positional) != 1 or named:
        return Const(None)
    return _fold(lambda value: (not value) if type(value) is bool else None, positional[0])


def _list(*children: lark.Tree | None) -> Compiled:
    items = [_compile(child) for child in children if child is not None]
    return _fold(lambda *values: list(values), *items) if items else Const([])


def _context(*entries: lark.Tree | None) -> Compiled:
    compiled = []
    for entry in entries:
        if entry is None:
            continue
        key, value = entry.children
        name = _string(key) if isinstance(key, lark.Token) else _name(key)
        compiled.append((name, _compile(value)))

    def context(scope: Scope) -> dict:
        result: dict[str, Any] = {}
        inner = scope.child(result)
        for name, value in compiled:
            result[name] = value(inner)
        return result
    return context


def _interval(opening: lark.Token, start: lark.Tree, _range: lark.Token, end: lark.Tree,
              closing: lark.Token) -> Compiled:
    start_included, end_included = str(opening) == "[", str(closing) == "]"
    return _fold(lambda low, high: Range(low, high, start_included, end_included), _compile(start), _compile(end))


def _if(_if_token, condition, _then, then_branch, _else, else_branch) -> Compiled:
    test, yes, no = _compile(condition), _compile(then_branch), _compile(else_branch)
    if isinstance(test, Const):
        return yes if test.value is True else no
    return lambda scope: yes(scope) if test(scope) is True else no(scope)


def _iterations(children: tuple) -> tuple[list[tuple[str, Compiled, Compiled | None]], Compiled]:
    iterations = []
    for child in children[1:-2]:
        name, _in, domain, _range, upper = child.children
        iterations.append((_name(name), _compile(domain), _compile(upper) if upper is not None else None))
    return iterations, _compile(children[-1])


def _bindings(scope: Scope, iterations: list, depth: int = 0) -> Iterable[Scope]:
    """Every combination of the iteration variables, each in its own scope (nested loops)."""
    if depth == len(iterations):
        yield scope
        return
    name, domain, upper = iterations[depth]
    items = _domain(domain(scope), upper(scope) if upper else _MISSING)
    if items is None:
        raise _NullDomain
    for item in items:
        scope.budget.tick()
        yield from _bindings(scope.child({name: item}), iterations, depth + 1)


class _NullDomain(Exception):
    pass


def _domain(low: Any, high: Any) -> Iterable[Any] | None:
    if high is _MISSING:
        return low if isinstance(low, list) else None
    first, last = (int(value) if v.is_number(value) and value == value.to_integral_value() else None
                   for value in (low, high))
    if first is None or last is None:
        return None
    v.check_size(abs(last - first) + 1)
    step = 1 if last >= first else -1
    return (Decimal(n) for n in range(first, last + step, step))


def _for(*children: Any) -> Compiled:
    iterations, body = _iterations(children)

    def loop(scope: Scope) -> list | None:
        results: list = []
        try:
            for inner in _bindings(scope, iterations):
                inner.names["partial"] = list(results)  # a value, not the list being built
                results.append(body(inner))
                v.check_size(len(results))
        except _NullDomain:
            return None
        return results
    return loop


def _quantifier(every: bool) -> Callable[..., Compiled]:
    def build(*children: Any) -> Compiled:
        iterations, body = _iterations(children)

        def quantified(scope: Scope) -> bool | None:
            result: bool | None = every
            try:
                for inner in _bindings(scope, iterations):
                    outcome = body(inner)
                    if outcome is (not every):
                        return not every
                    if outcome is not every:
                        result = None if outcome is None or result is None else result
            except _NullDomain:
                return None
            return result
        return quantified
    return build


def _function_def(_token: lark.Token, *children: Any) -> Compiled:
    *parameters, body_tree = children
    names = tuple(_name(p) for p in parameters if p is not None)
    body = _compile(body_tree)

    def define(scope: Scope) -> Function:
        def run(*args: Any) -> Any:
            if len(args) != len(names):
                return None
            scope.budget.tick()
            return body(scope.child(dict(zip(names, args))))
        return Function("function", names, run)
    return define


def _logic(combine: Callable[[Any, Any], Any], stop: bool) -> Callable[..., Compiled]:
    def build(left: lark.Tree, _token: lark.Token, right: lark.Tree) -> Compiled:
        first, second = _compile(left), _compile(right)

        def checked(value: Any) -> Any:
            return value if type(value) is bool else None

        def logic(scope: Scope) -> Any:
            a = checked(first(scope))
            if a is stop:
                return stop
            return combine(a, checked(second(scope)))
        return logic
    return build


def _compare(left: lark.Tree, operator: lark.Token, right: lark.Tree) -> Compiled:
    symbol = str(operator)
    return _fold(lambda a, b: v.compare(a, b, symbol), _compile(left), _compile(right))


def _between(value: lark.Tree, _b, low: lark.Tree, _and, high: lark.Tree) -> Compiled:
    return _fold(lambda x, a, b: v.logic_and(v.compare(x, a, ">="), v.compare(x, b, "<=")),
                 _compile(value), _compile(low), _compile(high))


def _in_compare(value: lark.Tree, _in, operator: lark.Token, endpoint: lark.Tree) -> Compiled:
    symbol = str(operator)
    return _fold(lambda x, e: v.compare(x, e, symbol), _compile(value), _compile(endpoint))


def _in_expr(value: lark.Tree, _in, collection: lark.Tree) -> Compiled:
    return _fold(membership, _compile(value), _compile(collection))


def _in_tests(value: lark.Tree, _in, *tests: lark.Tree) -> Compiled:
    """`x in (1, < 0, [5..9])`: the unary tests applied to x (a type mismatch is simply false)."""
    subject = _compile(value)
    predicates = [compile_positive_test(test) for test in tests]

    def holds(predicate: UnaryTest, item: Any, scope: Scope) -> bool:
        try:
            return predicate(item, scope)
        except TypeMismatch:
            return False
    return lambda scope: any(holds(p, subject(scope), scope) for p in predicates)


def membership(value: Any, collection: Any) -> bool | None:
    """`value in collection`: in a range, equal to an item (or in an item range) of a list, or equal."""
    if isinstance(collection, Range):
        return collection.contains(value)
    if isinstance(collection, list):
        for item in collection:
            found = item.contains(value) if isinstance(item, Range) else v.equal(value, item)
            if found is True:
                return True
        return False
    return v.equal(value, collection)


_TYPES: dict[str, Callable[[Any], bool]] = {
    "number": v.is_number, "string": lambda x: isinstance(x, str), "boolean": lambda x: type(x) is bool,
    "date": lambda x: type(x) is date, "time": lambda x: isinstance(x, time),
    "date and time": lambda x: isinstance(x, datetime),
    "days and time duration": lambda x: isinstance(x, timedelta),
    "years and months duration": lambda x: isinstance(x, YearsMonths),
    "list": lambda x: isinstance(x, list), "context": lambda x: isinstance(x, dict),
    "function": lambda x: isinstance(x, Function), "range": lambda x: isinstance(x, Range),
    "Any": lambda x: x is not None, "Null": lambda x: x is None, "null": lambda x: x is None,
}


def _instance_of(value: lark.Tree, _instance, _of, type_tree: lark.Tree) -> Compiled:
    type_name = " ".join(" ".join(str(t).split()) for t in type_tree.children)
    check = _TYPES.get(type_name)
    if check is None:
        raise FeelSyntaxError(f"unknown type {type_name!r} after 'instance of' "
                              f"(use one of: {', '.join(sorted(_TYPES))})")
    return _fold(lambda x: check(x), _compile(value))


def _binary(operation: Callable[[Any, Any], Any]) -> Callable[..., Compiled]:
    def build(left: lark.Tree, _token: lark.Token, right: lark.Tree) -> Compiled:
        return _fold(operation, _compile(left), _compile(right))
    return build


def _neg(_token: lark.Token, operand: lark.Tree) -> Compiled:
    return _fold(v.negate, _compile(operand))


def _compare_test(operator: lark.Token, endpoint: lark.Tree) -> Compiled:
    """`< 5` inside a list of tests: the half-open range it stands for."""
    symbol = str(operator)
    bound = _compile(endpoint)
    if symbol in ("<", "<="):
        return _fold(lambda e: Range(None, e, True, symbol == "<="), bound)
    if symbol in (">", ">="):
        return _fold(lambda e: Range(e, None, symbol == ">=", True), bound)
    if symbol == "!=":
        return _fold(lambda e: _NotEqual(e), bound)
    return bound


class _NotEqual:
    """`!= x` as a unary test."""

    __slots__ = ("value",)

    def __init__(self, value: Any):
        self.value = value


_HANDLERS: dict[str, Callable[..., Compiled]] = {
    "expression": _compile,
    "number": lambda token: Const(v.DECIMAL.create_decimal(str(token))),
    "string": lambda token: Const(_string(token)),
    "true": lambda _t: Const(True),
    "false": lambda _t: Const(False),
    "null": lambda _t: Const(None),
    "at_literal": _at_literal,
    "var": _var,
    "input_value": _input_value,
    "path": _path,
    "filter": _filter,
    "call": _call,
    "not_call": _not_call,
    "list": _list,
    "context": _context,
    "interval": _interval,
    "if_expr": _if,
    "for_expr": _for,
    "some_expr": _quantifier(every=False),
    "every_expr": _quantifier(every=True),
    "function_def": _function_def,
    "or_expr": _logic(v.logic_or, True),
    "and_expr": _logic(v.logic_and, False),
    "compare": _compare,
    "between": _between,
    "in_compare": _in_compare,
    "in_expr": _in_expr,
    "in_tests": _in_tests,
    "instance_of": _instance_of,
    "add": _binary(v.add),
    "sub": _binary(v.subtract),
    "mul": _binary(v.multiply),
    "div": _binary(v.divide),
    "pow": _binary(v.power),
    "neg": _neg,
    "compare_test": _compare_test,
}


# --- unary tests -------------------------------------------------------------------------------

UnaryTest = Callable[[Any, Scope], bool]


def compile_positive_test(tree: Any) -> UnaryTest:
    """One positive unary test as a predicate on the input value (DMN 1.3 §10.3.2.9.1)."""
    uses_input = any(isinstance(token, lark.Token) and token.type == "QUESTION"
                     for token in (tree.scan_values(lambda _: True) if isinstance(tree, lark.Tree) else ()))
    compiled = _compile(tree)
    if uses_input:
        return lambda value, scope: compiled(scope.child({"?": value})) is True
    if isinstance(compiled, Const):
        return _matcher(compiled.value)
    return lambda value, scope: _matcher(compiled(scope))(value, scope)


def _matcher(expected: Any) -> UnaryTest:
    """A predicate for a test whose value is known: equal, in a range or list, or a boolean result."""
    if isinstance(expected, Range):
        return _range_matcher(expected)
    if isinstance(expected, _NotEqual):
        other = expected.value
        return lambda value, scope: _checked(value, other, lambda: v.compare(value, other, "!=")) is True
    if isinstance(expected, list):
        tests = [_matcher(item) for item in expected]
        return lambda value, scope: any(test(value, scope) for test in tests)
    if type(expected) is bool:
        return lambda value, scope: (value is expected) if type(value) is bool or value is None else True is expected
    if expected is None:
        return lambda value, scope: value is None
    if isinstance(expected, str):
        return lambda value, scope: value == expected if isinstance(value, str) else _mismatch(value, expected)
    return lambda value, scope: _checked(value, expected, lambda: v.equal(value, expected)) is True


def _range_matcher(expected: Range) -> UnaryTest:
    """Membership in a range; numbers and texts against same-typed bounds take a direct path
    (most decision-table cells), anything else the general FEEL comparison."""
    low, high = expected.start, expected.end
    bound = low if low is not None else high
    fast_type = type(bound) if type(bound) in (Decimal, str) and type(high if low is not None else low) in (
        type(bound), type(None)) else None
    low_in, high_in = expected.start_included, expected.end_included

    def general(value: Any) -> bool:
        return _checked(value, bound, lambda: expected.contains(value)) is True

    if fast_type is None:
        return lambda value, scope: general(value)

    def fast(value: Any, scope: Scope) -> bool:
        if type(value) is not fast_type:
            return general(value)
        if low is not None and not (low < value or (low_in and low == value)):
            return False
        return high is None or value < high or (high_in and value == high)
    return fast


def _checked(value: Any, other: Any, test: Callable[[], Any]) -> Any:
    if value is not None and other is not None and not v.same_family(value, other):
        raise TypeMismatch(value, other)
    return test()


def _mismatch(value: Any, expected: Any) -> bool:
    if value is None:
        return False
    raise TypeMismatch(value, expected)

