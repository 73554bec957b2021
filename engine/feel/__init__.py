"""FEEL, the expression language of DMN (1.3, chapter 10), as Camunda 7's FEEL-scala engine runs it.

    expression = feel.expression('if amount > 1000 then "manager" else "clerk"')
    expression.evaluate({"amount": 1500})            # -> "manager"
    tests = feel.unary_tests('"external", "staff"')
    tests.matches("staff", {})                       # -> True

Texts are parsed by a grammar (feel.lark, lark's LALR parser) and compiled once into closures;
nothing is ever evaluated as Python. `FeelSyntaxError` (with a column) comes at compile time, so a
deployed table cannot fail on syntax later; `FeelError` and `TypeMismatch` at run time.
"""
from __future__ import annotations

import functools
from typing import Any, Mapping

from engine.feel.compiler import (Budget, FeelSyntaxError, Scope, TypeMismatch, UnaryTest,
                                  compile_positive_test, compile_tree, parse, root_scope)
from engine.feel.values import FeelError, from_feel, to_feel

__all__ = ["Expression", "UnaryTests", "FeelError", "FeelSyntaxError", "TypeMismatch", "expression",
           "unary_tests", "from_feel", "to_feel", "root_scope", "Scope"]


class Expression:
    """A compiled FEEL expression."""

    __slots__ = ("text", "_run")

    def __init__(self, text: str):
        self.text = text
        self._run = compile_tree(parse(text, "expression"))

    def evaluate(self, data: Mapping[str, Any] | None = None, scope: Scope | None = None) -> Any:
        """The FEEL value (None = null) with task data (plain Python values) as variables."""
        try:
            return self._run(scope if scope is not None else root_scope(data))
        except RecursionError:
            raise FeelError("the expression nests or recurses too deeply") from None


class UnaryTests:
    """Compiled unary tests: an input entry of a decision table (`-`, `not(…)`, comma lists …)."""

    __slots__ = ("text", "always", "negated", "constants", "_tests")

    def __init__(self, text: str):
        self.text = text
        body = text.strip()
        self.always = body in ("", "-")
        inner = _negated(body)
        self.negated = inner is not None
        trees = [] if self.always else _positive_trees(inner if self.negated else body)
        self._tests: list[UnaryTest] = [compile_positive_test(tree) for tree in trees]
        self.constants = _literal_values(trees)

    def matches(self, value: Any, scope: Scope | Mapping[str, Any] | None = None) -> bool:
        """Whether the input value (a FEEL value) satisfies the tests; raises TypeMismatch."""
        if self.always:
            return True
        scope = scope if isinstance(scope, Scope) else root_scope(scope)
        tests = self._tests
        hit = tests[0](value, scope) if len(tests) == 1 else any(test(value, scope) for test in tests)
        return not hit if self.negated else hit


def _literal_values(trees: list) -> list | None:
    """The values of tests that are all plain literals ("a", 5, true), else None."""
    values = []
    for tree in trees:
        if getattr(tree, "data", None) not in ("string", "number", "true", "false"):
            return None
        values.append(compile_tree(tree)(root_scope()))
    return values


def _positive_trees(text: str) -> list:
    tree = parse(text, "tests")
    return list(tree.children)


def _negated(text: str) -> str | None:
    """The inside of a top-level `not(…)` (with or without a space before the parenthesis)."""
    if not text.startswith("not"):
        return None
    rest = text[3:].lstrip()
    if not rest.startswith("(") or not rest.endswith(")"):
        return None
    depth, quoted, index = 0, False, 0
    while index < len(rest):
        char = rest[index]
        if quoted:
            if char == "\\":
                index += 1
            elif char == '"':
                quoted = False
        elif char == '"':
            quoted = True
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
            if depth == 0 and index != len(rest) - 1:
                return None
        index += 1
    return rest[1:-1]


@functools.lru_cache(maxsize=8192)
def expression(text: str) -> Expression:
    """The compiled expression for a text (cached: tables of one version share their cells)."""
    return Expression(text)


@functools.lru_cache(maxsize=8192)
def unary_tests(text: str) -> UnaryTests:
    return UnaryTests(text)
