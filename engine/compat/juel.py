"""JUEL (`${…}` / `#{…}`) → Python, at deploy time.

Camunda Modeler writes JUEL; SpiffWorkflow evaluates Python against task data. We translate the
small, side-effect-free part of JUEL analysts use in conditions, timers and assignments, and refuse
the rest (method calls, Camunda's `execution`/`task` objects) with a reason, so a diagram never fails
for the first time in front of a customer.

Supported: `== != < > <= >= eq ne lt gt le ge`, `&& || ! and or not`, `empty`, `+ - * / % div mod`,
`a ? b : c`, `true false null`, string and number literals, variable names, parentheses, and property
access. Property access `a.b` and `a['b']` both become `a['b']`: task data is JSON (dicts), so a
property is a key. Operands of an operator are parenthesised, so JUEL's precedence is kept exactly.

Also the Java methods analysts call on strings, lists and maps (`.size()`, `.contains(x)`,
`.equals(x)`, `.isEmpty()`, `.startsWith(x)`, … see `_METHODS`), `now()`, `dateTime()` with
`.plusDays(n)` … `.toDate()`, and `execution.getVariable("x")` (null when x is not set, as in
Camunda), `execution.hasVariable("x")`, `execution.getVariables()`, `execution.processBusinessKey`.
A listener's expression may also call business functions and change variables (`translate_listener`).
"""
from __future__ import annotations

import keyword
import re
from dataclasses import dataclass

#: Names that are Camunda engine objects or engine-managed variables: nothing here provides them.
ENGINE_NAMES = frozenset({
    "execution", "task", "externalTask", "caseExecution", "authentication", "variableScope",
})

_WORD_OPS = {
    "and": "and", "or": "or", "eq": "==", "ne": "!=", "lt": "<", "gt": ">", "le": "<=", "ge": ">=",
    "div": "/", "mod": "%",
}
_SYMBOL_OPS = {"&&": "and", "||": "or", "==": "==", "!=": "!=", "<": "<", ">": ">", "<=": "<=",
               ">=": ">=", "+": "+", "-": "-", "*": "*", "/": "/", "%": "%"}
_LEVELS = [  # lowest precedence first; each level is left-associative
    {"or", "||"},
    {"and", "&&"},
    {"==", "!=", "eq", "ne"},
    {"<", ">", "<=", ">=", "lt", "gt", "le", "ge"},
    {"+", "-"},
    {"*", "/", "%", "div", "mod"},
]
_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
  | (?P<number>\d+\.\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?|\d+(?:[eE][+-]?\d+)?)
  | (?P<name>[A-Za-z_$][A-Za-z0-9_$]*)
  | (?P<op>==|!=|<=|>=|&&|\|\||[<>!()\[\].,?:+\-*/%])
""", re.VERBOSE)


#: Java methods on values → Python; `{0}` is the object, `{1}`… the arguments (already operands).
_METHODS = {
    ("size", 0): "len({0})", ("length", 0): "len({0})", ("isEmpty", 0): "len({0}) == 0",
    ("contains", 1): "{1} in {0}", ("containsKey", 1): "{1} in {0}", ("equals", 1): "{0} == {1}",
    ("equalsIgnoreCase", 1): "str({0}).lower() == str({1}).lower()",
    ("startsWith", 1): "{0}.startswith({1})", ("endsWith", 1): "{0}.endswith({1})",
    ("toUpperCase", 0): "{0}.upper()", ("toLowerCase", 0): "{0}.lower()", ("trim", 0): "{0}.strip()",
    ("toString", 0): "str({0})", ("indexOf", 1): "{0}.find({1})",
    ("toDate", 0): "{0}",
}
_PLUS_UNITS = {"Days": "days", "Hours": "hours", "Minutes": "minutes", "Seconds": "seconds", "Weeks": "weeks"}
#: `execution.<method>(…)`: what Camunda's DelegateExecution answers, read from the variables.
_EXECUTION = {
    ("getVariable", 1): "locals().get({1})", ("getVariableLocal", 1): "locals().get({1})",
    ("hasVariable", 1): "{1} in locals()", ("getVariables", 0): "locals()",
    ("getProcessBusinessKey", 0): "{0}.getProcessBusinessKey()", ("getBusinessKey", 0): "{0}.getProcessBusinessKey()",
    ("getCurrentActivityId", 0): "{0}.getCurrentActivityId()",
    ("getCurrentActivityName", 0): "{0}.getCurrentActivityName()", ("getEventName", 0): "{0}.getEventName()",
}
#: Bean properties of `execution` (`${execution.processBusinessKey}`) → the getter.
_EXECUTION_PROPERTIES = {"processBusinessKey": "getProcessBusinessKey", "businessKey": "getProcessBusinessKey",
                         "currentActivityId": "getCurrentActivityId", "currentActivityName": "getCurrentActivityName",
                         "eventName": "getEventName"}
#: What a listener's expression may change (it runs as a statement, engine.listeners).
_LISTENER_EXECUTION = {("setVariable", 2): "{0}.setVariable({1}, {2})", ("setVariableLocal", 2): "{0}.setVariable({1}, {2})",
                       ("removeVariable", 1): "{0}.removeVariable({1})"}
#: `task` in a task listener (Camunda's DelegateTask).
_TASK = {**_EXECUTION, **_LISTENER_EXECUTION, ("getAssignee", 0): "{0}.getAssignee()",
         ("setAssignee", 1): "{0}.setAssignee({1})", ("getName", 0): "{0}.getName()",
         ("getTaskDefinitionKey", 0): "{0}.getTaskDefinitionKey()"}
_TASK_PROPERTIES = {**_EXECUTION_PROPERTIES, "assignee": "getAssignee", "name": "getName",
                    "taskDefinitionKey": "getTaskDefinitionKey"}


class Untranslatable(ValueError):
    """The JUEL cannot be expressed in Python here; the message says why."""


@dataclass(frozen=True)
class _Node:
    text: str
    compound: bool  # needs parentheses when used as an operand

    def operand(self) -> str:
        return f"({self.text})" if self.compound else self.text


def is_juel(text: str | None) -> bool:
    """True when the text contains a JUEL expression."""
    return bool(text) and ("${" in text or "#{" in text)


def translate_expression(body: str) -> str:
    """Translate the inside of one `${…}` to a Python expression."""
    parser = _Parser(_tokenize(body), body)
    node = parser.ternary()
    parser.expect_end()
    return node.text


def translate_listener(body: str, functions: frozenset[str], task: bool) -> str:
    """The inside of a listener's `camunda:expression` → a Python statement (its value is dropped,
    as Camunda drops it): besides what expressions may use, a call of a business function
    (`notify_customer(phone)`), `execution.setVariable(name, value)` / `removeVariable`, and in a
    task listener `task` (`task.assignee`, `task.setAssignee(x)`, `task.setVariable(…)`)."""
    parser = _Parser(_tokenize(body), body, functions=functions, objects=("execution", "task") if task else ("execution",),
                     listener=True)
    node = parser.ternary()
    parser.expect_end()
    return node.text


def translate_condition(text: str) -> str:
    """A condition must be exactly one `${…}` (whitespace around is fine)."""
    parts = split_template(text)
    expressions = [part for part in parts if isinstance(part, _Expr)]
    literal = "".join(part for part in parts if isinstance(part, str)).strip()
    if len(expressions) != 1 or literal:
        raise Untranslatable("a condition must be a single ${…} expression")
    return translate_expression(expressions[0].body)


def translate_template(text: str) -> str:
    """Translate text with embedded `${…}` to a Python expression giving the same value.

    A text that is exactly one expression keeps the expression's own type (a list stays a list);
    mixed text becomes string concatenation, as JUEL composite expressions do.
    """
    parts = split_template(text.strip())
    if len(parts) == 1 and isinstance(parts[0], _Expr):
        return translate_expression(parts[0].body)
    pieces = [repr(part) if isinstance(part, str) else f"str({translate_expression(part.body)})"
              for part in parts if part != ""]
    return " + ".join(pieces)


@dataclass(frozen=True)
class _Expr:
    body: str


def split_template(text: str) -> list[str | _Expr]:
    """Split text into literal strings and `${…}` bodies, honouring quotes inside expressions."""
    parts: list[str | _Expr] = []
    position = 0
    while True:
        start = _find_expression_start(text, position)
        if start < 0:
            if position < len(text):
                parts.append(text[position:])
            return parts
        if start > position:
            parts.append(text[position:start])
        end = matching_brace(text, start + 1)
        parts.append(_Expr(text[start + 2:end]))
        position = end + 1


def _find_expression_start(text: str, position: int) -> int:
    starts = [i for i in (text.find("${", position), text.find("#{", position)) if i >= 0]
    return min(starts) if starts else -1


def matching_brace(text: str, opening: int) -> int:
    """Index of the `}` closing the `{` at `opening`, skipping braces inside string literals."""
    depth, index, quote = 0, opening, None
    while index < len(text):
        char = text[index]
        if quote:
            if char == "\\":
                index += 1
            elif char == quote:
                quote = None
        elif char in "'\"":
            quote = char
        elif char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return index
        index += 1
    raise Untranslatable("unclosed ${ (missing '}')")


def _tokenize(body: str) -> list[tuple[str, str]]:
    tokens, position = [], 0
    while position < len(body):
        match = _TOKEN.match(body, position)
        if not match:
            raise Untranslatable(f"unexpected character {body[position]!r}")
        position = match.end()
        if match.lastgroup != "space":
            tokens.append((match.lastgroup, match.group()))
    return tokens


class _Parser:
    """Recursive descent over EL's grammar; each method returns the Python text of its part."""

    def __init__(self, tokens: list[tuple[str, str]], source: str, functions: frozenset[str] = frozenset(),
                 objects: tuple[str, ...] = ("execution",), listener: bool = False):
        self.tokens = tokens
        self.index = 0
        self.source = source
        self.functions = functions  # callable by name: only in a listener's expression
        self.objects = objects  # Camunda engine objects the expression may use
        self.listener = listener  # a listener's expression may change variables and call functions

    def peek(self, offset: int = 0) -> tuple[str, str]:
        position = self.index + offset
        return self.tokens[position] if position < len(self.tokens) else ("end", "")

    def take(self) -> tuple[str, str]:
        token = self.peek()
        self.index += 1
        return token

    def expect(self, value: str) -> None:
        kind, text = self.take()
        if text != value or kind == "string":
            raise Untranslatable(f"expected {value!r} but found {text or 'the end'!r}")

    def expect_end(self) -> None:
        if self.peek()[0] != "end":
            raise Untranslatable(f"unexpected {self.peek()[1]!r}")

    def ternary(self) -> _Node:
        condition = self.binary(0)
        if self.peek()[1] != "?":
            return condition
        self.take()
        if_true = self.ternary()
        self.expect(":")
        if_false = self.ternary()
        return _Node(f"{if_true.operand()} if {condition.operand()} else {if_false.operand()}", True)

    def binary(self, level: int) -> _Node:
        if level == len(_LEVELS):
            return self.unary()
        left = self.binary(level + 1)
        while self.peek()[0] in ("op", "name") and self.peek()[1] in _LEVELS[level]:
            operator = self.take()[1]
            right = self.binary(level + 1)
            python = _SYMBOL_OPS.get(operator) or _WORD_OPS[operator]
            left = _Node(f"{left.operand()} {python} {right.operand()}", True)
        return left

    def unary(self) -> _Node:
        kind, text = self.peek()
        if text in ("!", "not") and kind in ("op", "name"):
            self.take()
            return _Node(f"not {self.unary().operand()}", True)
        if text == "-" and kind == "op":
            self.take()
            return _Node(f"-{self.unary().operand()}", True)
        if text == "empty" and kind == "name":
            self.take()
            return _Node(f"{self.unary().operand()} in (None, '', [], {{}})", True)
        return self.postfix()

    def arguments(self) -> list[_Node]:
        """`( a, b )` after a method or function name."""
        self.expect("(")
        found: list[_Node] = []
        while self.peek()[1] != ")":
            if found:
                self.expect(",")
            found.append(self.ternary())
        self.expect(")")
        return found

    def method(self, node: _Node, name: str) -> _Node:
        arguments = self.arguments()
        unit = name.removeprefix("plus").removeprefix("minus")
        if unit in _PLUS_UNITS and name != unit and len(arguments) == 1:
            sign = "+" if name.startswith("plus") else "-"
            return _Node(f"{node.operand()} {sign} timedelta({_PLUS_UNITS[unit]}={arguments[0].text})", True)
        template = _METHODS.get((name, len(arguments)))
        if template is None:
            raise Untranslatable(f"method call .{name}(…) cannot run here (methods that can: "
                                 f"{', '.join(sorted({m for m, _ in _METHODS}))}, plusDays/Hours/…)")
        return _Node(template.format(node.operand(), *(a.operand() for a in arguments)), True)

    def engine_object(self, obj: str) -> _Node:
        """`execution.…` / `task.…`: a method Camunda's object has and this engine provides."""
        self.expect(".")
        kind, name = self.take()
        methods = _TASK if obj == "task" else {**_EXECUTION, **(_LISTENER_EXECUTION if self.listener else {})}
        properties = _TASK_PROPERTIES if obj == "task" else _EXECUTION_PROPERTIES
        if self.peek()[1] != "(":
            if name not in properties:
                raise Untranslatable(f"{obj}.{name} is provided by the Camunda engine, not by this one "
                                     f"({', '.join(f'{obj}.{p}' for p in properties)} are)")
            return _Node(f"{obj}.{properties[name]}()", False)
        arguments = self.arguments()
        template = methods.get((name, len(arguments)))
        if template is None:
            raise Untranslatable(f"{obj}.{name}(…) cannot run here ({', '.join(sorted({m for m, _ in methods}))} can)")
        return _Node(template.format(obj, *(a.operand() for a in arguments)), True)

    def postfix(self) -> _Node:
        node = self.primary()
        while self.peek()[1] in (".", "["):
            if self.take()[1] == ".":
                kind, name = self.take()
                if kind != "name":
                    raise Untranslatable(f"expected a property name after '.' but found {name!r}")
                if self.peek()[1] == "(":
                    node = self.method(node, name)
                    continue
                node = _Node(f"{node.operand()}[{name!r}]", False)
            else:
                index = self.ternary()
                self.expect("]")
                node = _Node(f"{node.operand()}[{index.text}]", False)
        return node

    def primary(self) -> _Node:
        kind, text = self.take()
        if kind == "number":
            return _Node(text, False)
        if kind == "string":
            return _Node(repr(_unescape(text[1:-1])), False)
        if text == "(" and kind == "op":
            inner = self.ternary()
            self.expect(")")
            return _Node(inner.text, inner.compound)
        if kind == "name":
            return self.name(text)
        raise Untranslatable(f"unexpected {text or 'end of expression'!r}")

    def name(self, text: str) -> _Node:
        literals = {"true": "True", "false": "False", "null": "None"}
        if text in literals:
            return _Node(literals[text], False)
        if text in ("now", "dateTime") and self.peek()[1] == "(":
            if self.arguments():
                raise Untranslatable(f"{text}() takes no arguments")
            return _Node("now()", False)
        if text in self.functions and self.peek()[1] == "(":
            return _Node(f"{text}({', '.join(a.text for a in self.arguments())})", False)
        if self.peek()[1] == "(" or self.peek()[1] == ":" and self.peek(2)[1] == "(":
            raise Untranslatable(f"function call {text}(…) cannot run here" + (
                " (a listener may call a business function of tasks/)" if self.listener else ""))
        if text in self.objects and self.peek()[1] == ".":
            return self.engine_object(text)
        if text in ENGINE_NAMES:
            raise Untranslatable(f"{text!r} is provided by the Camunda engine, not by this one")
        if text == "instanceof":
            raise Untranslatable("'instanceof' is not supported")
        if "$" in text or keyword.iskeyword(text):
            raise Untranslatable(f"variable name {text!r} is not usable in Python (reserved word)")
        if text in _WORD_OPS or text in ("not", "empty"):
            raise Untranslatable(f"operator {text!r} is missing an operand")
        return _Node(text, False)


def _unescape(body: str) -> str:
    return re.sub(r"\\(.)", r"\1", body)
