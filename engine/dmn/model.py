"""A DMN file read into compiled decisions: decision tables, literal expressions and their
required decisions, every FEEL text compiled once (at deploy, and once per deployed version).

Reading never raises on the analyst's content: each problem becomes
`FILE:LINE: decision "D", rule N, column C: what is wrong`, and a decision this engine does not
evaluate (a boxed context, an invocation, a business knowledge model…) is kept with the reason,
so the file's other decisions still deploy; a task or a decision needing it is refused instead.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from engine import feel
from engine.feel.compiler import Const, compile_tree, parse

HIT_POLICIES = ("UNIQUE", "FIRST", "PRIORITY", "ANY", "COLLECT", "RULE ORDER", "OUTPUT ORDER")
AGGREGATIONS = ("SUM", "MIN", "MAX", "COUNT")
_BOXED = ("context", "invocation", "relation", "list", "functionDefinition", "conditional", "filter",
          "for", "every", "some")


@dataclass
class Input:
    label: str
    expression: feel.Expression | None
    type_ref: str | None
    allowed: feel.UnaryTests | None
    variable: str  # camunda:inputVariable, the name of the input value inside its entries


@dataclass
class Output:
    name: str
    label: str
    type_ref: str | None
    allowed: feel.UnaryTests | None
    priorities: list[Any]  # outputValues as FEEL values, highest priority first
    default: feel.Expression | None = None  # defaultOutputEntry: the value when no rule matched


@dataclass
class Rule:
    number: int  # 1-based, as the analyst counts rows
    id: str
    tests: list[feel.UnaryTests]
    outputs: list[feel.Expression | None]
    description: str = ""


@dataclass
class Table:
    hit_policy: str
    aggregation: str | None
    inputs: list[Input]
    outputs: list[Output]
    rules: list[Rule]


@dataclass
class Decision:
    id: str
    name: str
    file: str
    line: int
    required: list[str] = field(default_factory=list)  # ids of required decisions, in document order
    table: Table | None = None
    literal: feel.Expression | None = None
    variable: str = ""  # the result's name for a literal expression
    type_ref: str | None = None
    unsupported: str | None = None  # why this decision cannot be evaluated here

    @property
    def label(self) -> str:
        return f"「{self.name}」({self.id})" if self.name and self.name != self.id else f"「{self.id}」"


@dataclass
class DmnFile:
    decisions: dict[str, Decision]
    problems: list[str]


def read_dmn(file: str, root: etree._Element) -> DmnFile:
    """Every decision of a DMN document, compiled; problems as `FILE:LINE: …` lines."""
    reader = _Reader(file, etree.QName(root).namespace)
    decisions = {}
    for element in root.findall(reader.tag("decision")):
        decision = reader.decision(element)
        decisions[decision.id] = decision
    _check_requirements(file, decisions, reader.problems)
    return DmnFile(decisions, reader.problems)


class _Reader:
    def __init__(self, file: str, namespace: str):
        self.file = file
        self.namespace = namespace
        self.problems: list[str] = []

    def tag(self, name: str) -> str:
        return f"{{{self.namespace}}}{name}"

    def problem(self, element: etree._Element, where: str, message: str) -> None:
        self.problems.append(f"{self.file}:{element.sourceline or 1}: {where}: {message}")

    def decision(self, element: etree._Element) -> Decision:
        decision_id = element.get("id") or ""
        decision = Decision(decision_id, element.get("name") or decision_id, self.file, element.sourceline or 1)
        where = f'decision "{decision_id or "?"}"'
        if not decision_id:
            self.problem(element, where, "the decision has no id (business rule tasks refer to it by id)")
        for requirement in element.iter(self.tag("requiredDecision")):
            decision.required.append((requirement.get("href") or "").split("#")[-1])
        variable = element.find(self.tag("variable"))
        table = element.find(self.tag("decisionTable"))
        literal = element.find(self.tag("literalExpression"))
        if variable is not None:
            decision.variable = variable.get("name") or ""
        if table is not None:
            decision.table = self.table(table, where)
        elif literal is not None:
            decision.literal = self.expression(literal, where, "literal expression")
            decision.variable = (variable.get("name") if variable is not None else None) or decision.name
            decision.type_ref = (variable.get("typeRef") if variable is not None else None) or literal.get("typeRef")
        else:
            boxed = next((etree.QName(child).localname for child in element
                          if isinstance(child.tag, str) and etree.QName(child).localname in _BOXED), None)
            decision.unsupported = (f"its logic is a boxed {boxed}, which Camunda 7 does not evaluate either; "
                                    "use a decision table or a literal expression" if boxed else
                                    "it has no decision table and no literal expression")
        if element.find(f".//{self.tag('requiredKnowledge')}") is not None:
            decision.unsupported = ("it requires a business knowledge model, which Camunda 7 does not "
                                    "evaluate; put the logic in a decision table or literal expression")
        return decision

    def expression(self, element: etree._Element, where: str, what: str) -> feel.Expression | None:
        text = element.findtext(self.tag("text"))
        if text is None or not text.strip():
            return None
        language = element.get("expressionLanguage")
        if language and language.lower() not in ("feel", "https://www.omg.org/spec/dmn/20191111/feel/",
                                                 "http://www.omg.org/spec/feel/20140401"):
            self.problem(element, where, f'{what} uses expressionLanguage="{language}": only FEEL is '
                         "evaluated here; remove the attribute and write the expression in FEEL")
            return None
        try:
            return feel.expression(text.strip())
        except feel.FeelSyntaxError as error:
            self.problem(element, where, f"{what} {text.strip()!r}: {error}")
            return None

    def tests(self, element: etree._Element, where: str, what: str) -> feel.UnaryTests | None:
        text = element.findtext(self.tag("text")) or ""
        try:
            return feel.unary_tests(text.strip())
        except feel.FeelSyntaxError as error:
            self.problem(element, where, f"{what} {text.strip()!r}: {error}")
            return None

    def table(self, element: etree._Element, where: str) -> Table:
        policy = " ".join((element.get("hitPolicy") or "UNIQUE").upper().split())
        aggregation = (element.get("aggregation") or "").upper() or None
        if policy not in HIT_POLICIES:
            self.problem(element, where, f'hit policy "{policy}" is not a DMN hit policy ({", ".join(HIT_POLICIES)})')
        if aggregation and (policy != "COLLECT" or aggregation not in AGGREGATIONS):
            self.problem(element, where, f'aggregation "{aggregation}" needs hit policy COLLECT and is one of '
                         f'{", ".join(AGGREGATIONS)}')
        inputs = [self.input(item, where, n) for n, item in enumerate(element.findall(self.tag("input")), 1)]
        outputs = [self.output(item, where, n) for n, item in enumerate(element.findall(self.tag("output")), 1)]
        if not outputs:
            self.problem(element, where, "the table has no output column")
        if aggregation and len(outputs) > 1:
            self.problem(element, where, f"COLLECT {aggregation} aggregates one output column; "
                         f"this table has {len(outputs)}")
        if policy in ("PRIORITY", "OUTPUT ORDER") and not any(o.priorities for o in outputs):
            self.problem(element, where, f"hit policy {policy} orders rules by the output values list: give "
                         "the output column its output values (e.g. \"high\",\"low\"), highest priority first")
        names = [o.name for o in outputs]
        if len(outputs) > 1 and (len(set(names)) != len(names) or not all(names)):
            self.problem(element, where, "with several output columns each needs its own name "
                         "(the name the result is stored under)")
        rule_elements = element.findall(self.tag("rule"))
        rules = [self.rule(item, where, n, inputs, outputs) for n, item in enumerate(rule_elements, 1)]
        for rule, rule_element in zip(rules, rule_elements):
            self.check_listed(rule, rule_element, where, inputs, outputs)
        return Table(policy, aggregation, inputs, outputs, rules)

    def check_listed(self, rule: Rule, element: etree._Element, where: str, inputs: list[Input],
                     outputs: list[Output]) -> None:
        """A literal cell outside its column's input/output values can never match or is wrong:
        usually a typo ("extrnal"), which would otherwise fail silently."""
        place = f"{where}, rule {rule.number}"
        cells = element.findall(self.tag("inputEntry"))
        for column, tests, cell in zip(inputs, rule.tests, cells):
            for value in (tests.constants or []) if column.allowed is not None else []:
                if not _listed(column.allowed, value):
                    self.problem(cell, f'{place}, column "{column.label}"', f"input entry {tests.text!r} is not "
                                 f"among the column's input values {column.allowed.text}")
        cells = element.findall(self.tag("outputEntry"))
        for column, expression, cell in zip(outputs, rule.outputs, cells):
            if column.allowed is None or expression is None:
                continue
            constant = feel.unary_tests(expression.text).constants if _is_literal(expression.text) else None
            for value in constant or []:
                if not _listed(column.allowed, value):
                    self.problem(cell, f'{place}, column "{column.label}"', f"output entry {expression.text!r} "
                                 f"is not among the column's output values {column.allowed.text}")

    def input(self, element: etree._Element, where: str, number: int) -> Input:
        label = element.get("label") or element.get("id") or f"input {number}"
        column = f'{where}, column "{label}" (input {number})'
        expression = element.find(self.tag("inputExpression"))
        compiled = None
        if expression is None or not (expression.findtext(self.tag("text")) or "").strip():
            self.problem(element, column, "the input column has no input expression (which variable it reads)")
        else:
            compiled = self.expression(expression, column, "input expression")
        values = element.find(self.tag("inputValues"))
        allowed = self.tests(values, column, "input values") if values is not None else None
        type_ref = expression.get("typeRef") if expression is not None else None
        variable = element.get("{http://camunda.org/schema/1.0/dmn}inputVariable") or "cellInput"
        return Input(label, compiled, type_ref, allowed, variable)

    def output(self, element: etree._Element, where: str, number: int) -> Output:
        name = element.get("name") or ""
        label = element.get("label") or name or element.get("id") or f"output {number}"
        column = f'{where}, column "{label}" (output {number})'
        values = element.find(self.tag("outputValues"))
        allowed = self.tests(values, column, "output values") if values is not None else None
        priorities = self.constants(values, column) if values is not None else []
        default = element.find(self.tag("defaultOutputEntry"))
        fallback = self.expression(default, column, "default output entry") if default is not None else None
        return Output(name, label, element.get("typeRef"), allowed, priorities, fallback)

    def constants(self, element: etree._Element, where: str) -> list[Any]:
        text = (element.findtext(self.tag("text")) or "").strip()
        if not text:
            return []
        try:
            compiled = [compile_tree(tree) for tree in parse(text, "tests").children]
        except feel.FeelSyntaxError:
            return []  # reported by tests()
        if not all(isinstance(item, Const) for item in compiled):
            self.problem(element, where, f"output values {text!r} must be a list of literal values")
            return []
        return [item.value for item in compiled]

    def rule(self, element: etree._Element, where: str, number: int, inputs: list[Input],
             outputs: list[Output]) -> Rule:
        place = f"{where}, rule {number}"
        entries = element.findall(self.tag("inputEntry"))
        results = element.findall(self.tag("outputEntry"))
        if len(entries) != len(inputs) or len(results) != len(outputs):
            self.problem(element, place, f"has {len(entries)} input and {len(results)} output cells for "
                         f"{len(inputs)} input and {len(outputs)} output columns")
        tests = []
        for index, entry in enumerate(entries):
            label = inputs[index].label if index < len(inputs) else f"input {index + 1}"
            compiled = self.tests(entry, f'{place}, column "{label}"', "input entry")
            tests.append(compiled or feel.unary_tests("-"))
        values = []
        for index, entry in enumerate(results):
            label = outputs[index].label if index < len(outputs) else f"output {index + 1}"
            values.append(self.expression(entry, f'{place}, column "{label}"', "output entry"))
        description = (element.findtext(self.tag("description")) or "").strip()
        return Rule(number, element.get("id") or "", tests, values, description)


def _listed(allowed: feel.UnaryTests, value: Any) -> bool:
    try:
        return allowed.matches(value)
    except feel.TypeMismatch:
        return False


def _is_literal(text: str) -> bool:
    try:
        return feel.unary_tests(text).constants is not None and "," not in text
    except feel.FeelSyntaxError:
        return False


def _check_requirements(file: str, decisions: dict[str, Decision], problems: list[str]) -> None:
    """Required decisions must exist in the file and not form a cycle."""
    for decision in decisions.values():
        for required in decision.required:
            if required not in decisions:
                problems.append(f'{file}:{decision.line}: decision "{decision.id}" requires decision '
                                f'"{required}", which this file does not define')
    state: dict[str, str] = {}

    def visit(decision_id: str, path: list[str]) -> None:
        if state.get(decision_id) == "done" or decision_id not in decisions:
            return
        if state.get(decision_id) == "open":
            cycle = " → ".join([*path[path.index(decision_id):], decision_id])
            problems.append(f"{file}:{decisions[decision_id].line}: decisions require each other in a "
                            f"cycle ({cycle})")
            return
        state[decision_id] = "open"
        for required in decisions[decision_id].required:
            visit(required, [*path, decision_id])
        state[decision_id] = "done"

    for decision_id in decisions:
        visit(decision_id, [])


def blocked_by(decisions: dict[str, Decision], decision_id: str) -> str | None:
    """Why a decision (or one it requires, at any depth) cannot be evaluated, or None."""
    seen: set[str] = set()
    pending = [decision_id]
    while pending:
        current = decisions.get(pending.pop())
        if current is None or current.id in seen:
            continue
        seen.add(current.id)
        if current.unsupported:
            return f'decision "{current.id}" cannot be evaluated: {current.unsupported}'
        pending.extend(current.required)
    return None
