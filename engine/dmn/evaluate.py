"""Evaluating a compiled decision as Camunda 7's DMN engine does (DMN 1.3 chapter 8 hit policies).

The result has Camunda's shape (`DmnDecisionResult`): a list of results, each the output entries
of one selected rule by output name; an aggregated COLLECT and a literal expression give one
result with one entry. Required decisions are evaluated first, their outputs visible by output
name (Camunda) and by decision name (DMN). Every failure an analyst or a case's data can cause is
a :class:`DecisionError` in Chinese naming the decision, the rule and the column — never Python text.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Mapping

from engine import feel
from engine.dmn.model import Decision, Input, Output, Rule, Table, blocked_by
from engine.errors import BpmdeskError
from engine.numbers import whole_number
from engine.feel import values as v
from engine.feel.builtins import to_string

log = logging.getLogger(__name__)


class DecisionError(BpmdeskError):
    """A decision could not be evaluated for these data (a hit-policy violation, a wrong value)."""

    http_status = 422


@dataclass
class Hit:
    rule: int
    rule_id: str
    description: str
    outputs: dict[str, Any]


@dataclass
class Evaluation:
    """One decision's result; values are task-data values (int/float/str/bool/None, ISO dates)."""

    decision_id: str
    name: str
    results: list[dict[str, Any]]
    matched: list[int] = field(default_factory=list)  # every rule that matched, by number
    hits: list[Hit] = field(default_factory=list)  # the rules the hit policy selected
    inputs: dict[str, Any] = field(default_factory=dict)
    required: list["Evaluation"] = field(default_factory=list)
    kind: str = "table"  # table | literal
    hit_policy: str | None = None
    aggregated: bool = False
    output_names: list[str] = field(default_factory=list)

    def by_output_name(self) -> dict[str, Any]:
        """What bpmdesk sets when the diagram asks for no mapping: each output under its own name —
        the value for single-hit tables (None when no rule matched), a list for multi-hit ones."""
        if self.kind == "literal" or self.aggregated or self.hit_policy in _SINGLE_HIT:
            first = self.results[0] if self.results else {}
            return {name: first.get(name) for name in self.output_names}
        return {name: [result.get(name) for result in self.results] for name in self.output_names}

    def dmn_value(self) -> Any:
        """The decision's value as a requiring decision sees it under the decision's name (DMN)."""
        values = [next(iter(r.values())) if len(r) == 1 else r for r in self.results]
        if self.kind == "literal" or self.aggregated or self.hit_policy in _SINGLE_HIT:
            return values[0] if values else None
        return values


_SINGLE_HIT = ("UNIQUE", "FIRST", "PRIORITY", "ANY")


def evaluate(decisions: Mapping[str, Decision], decision_id: str, data: Mapping[str, Any]) -> Evaluation:
    """Evaluate a decision (and the decisions it requires) with task data as its variables."""
    decision = decisions.get(decision_id)
    if decision is None:
        raise DecisionError(f"决策 {decision_id} 未部署。")
    reason = blocked_by(dict(decisions), decision_id)
    if reason:
        raise DecisionError(f"决策{decision.label}无法计算：{reason}")
    return _evaluate(decisions, decision, data, {})


def _evaluate(decisions: Mapping[str, Decision], decision: Decision, data: Mapping[str, Any],
              done: dict[str, Evaluation]) -> Evaluation:
    if decision.id in done:
        return done[decision.id]
    required = [_evaluate(decisions, decisions[r], data, done) for r in decision.required]
    variables = dict(data)
    for earlier in required:
        variables.update(_required_variables(earlier))
    try:
        if decision.table is not None:
            result = _table(decision, decision.table, variables)
        else:
            result = _literal(decision, variables)
    except feel.FeelError as error:
        raise DecisionError(f"决策{decision.label}计算被中止：{error}") from None
    except (DecisionError, MemoryError):
        raise
    except Exception:  # a bug of ours: logged, and the analyst still gets a message, not Python text
        log.exception("evaluating decision %s failed", decision.id)
        raise DecisionError(f"决策{decision.label}计算失败（内部错误，已记入日志），请联系系统管理员。") from None
    result.required = required
    done[decision.id] = result
    return result


def _required_variables(earlier: Evaluation) -> dict[str, Any]:
    """A required decision's outputs by output name (Camunda) and its value by decision name (DMN)."""
    names = {earlier.name: earlier.dmn_value()} if earlier.name else {}
    if len(earlier.results) == 1:
        names.update(earlier.results[0])
    elif earlier.results:
        names.update({key: [r.get(key) for r in earlier.results] for key in earlier.results[0]})
    return names


def _literal(decision: Decision, variables: dict[str, Any]) -> Evaluation:
    name = decision.variable or decision.id
    value = decision.literal.evaluate(variables) if decision.literal is not None else None
    where = f"决策{decision.label}的文字表达式结果"
    value = _out(convert(value, decision.type_ref, where), decision.type_ref)
    return Evaluation(decision.id, decision.name, [{name: value}], kind="literal", output_names=[name])


# --- decision tables ---------------------------------------------------------------------------

def _table(decision: Decision, table: Table, variables: dict[str, Any]) -> Evaluation:
    scope = feel.root_scope(variables)
    inputs = [_input_value(decision, column, scope) for column in table.inputs]
    cells = [scope.child({column.variable: value}) for column, value in zip(table.inputs, inputs)]
    matched = _matching_rules(decision, table, inputs, cells)
    computed = [(rule, _rule_outputs(decision, table, rule, scope)) for rule in matched]
    selected = _apply_hit_policy(decision, table, computed)
    if not matched and any(output.default is not None for output in table.outputs):
        selected = [(_DEFAULT_RULE, _default_outputs(decision, table, scope))]
    names = [_name(output, decision, len(table.outputs)) for output in table.outputs]
    evaluation = Evaluation(decision.id, decision.name, [], matched=[rule.number for rule in matched],
                            hits=[Hit(rule.number, rule.id, rule.description, _plain(names, table, values))
                                  for rule, values in selected],
                            inputs={column.label: v.from_feel(value) for column, value in zip(table.inputs, inputs)},
                            hit_policy=table.hit_policy, aggregated=table.aggregation is not None,
                            output_names=names)
    if table.aggregation:
        evaluation.results = _aggregate(decision, table, [values for _, values in selected])
    else:
        evaluation.results = [hit.outputs for hit in evaluation.hits]
    return evaluation


def _name(output: Output, decision: Decision, columns: int) -> str:
    """The result entry's name: the output's name; a table's only, unnamed output is named after
    the decision (its variable), as DMN names a single-output decision's value."""
    if output.name:
        return output.name
    return (decision.variable or decision.name or output.label) if columns == 1 else output.label


def _plain(names: list[str], table: Table, values: list[Any]) -> dict[str, Any]:
    return {name: _out(value, output.type_ref) for name, output, value in zip(names, table.outputs, values)}


def _input_value(decision: Decision, column: Input, scope: feel.Scope) -> Any:
    """The column's input value, converted to its typeRef and within its input values: a value
    the table was not written for stops the step rather than matching no rule (or only `-` rules)."""
    value = column.expression.evaluate(scope=scope) if column.expression is not None else None
    where = f"决策{decision.label}的输入「{column.label}」"
    value = convert(value, column.type_ref, where)
    if value is not None and column.allowed is not None and not _allowed(column.allowed, value, scope):
        raise DecisionError(f"{where}的值 {_show(value)} 不在该列的输入取值 {column.allowed.text} 之中，表格没有为它"
                            "写规则。请检查案件数据，或请分析员在该列的输入取值（及规则）中加入它。")
    return value


def _allowed(tests: feel.UnaryTests, value: Any, scope: feel.Scope) -> bool:
    try:
        return tests.matches(value, scope)
    except feel.TypeMismatch:
        return False


_DEFAULT_RULE = Rule(0, "", [], [], "defaultOutputEntry")


def _matching_rules(decision: Decision, table: Table, inputs: list[Any], cells: list[feel.Scope]) -> list[Rule]:
    """The rules whose every input entry holds; FIRST stops at the first (the rest cannot count)."""
    matched = []
    for rule in table.rules:
        if _matches(decision, table, rule, inputs, cells):
            matched.append(rule)
            if table.hit_policy == "FIRST":
                break
    return matched


def _default_outputs(decision: Decision, table: Table, scope: feel.Scope) -> list[Any]:
    values = []
    for output in table.outputs:
        value = output.default.evaluate(scope=scope) if output.default is not None else None
        values.append(convert(value, output.type_ref, f"决策{decision.label}的输出「{output.label}」的默认值"))
    return values


def _matches(decision: Decision, table: Table, rule: Rule, inputs: list[Any], cells: list[feel.Scope]) -> bool:
    """Whether every input entry of the rule holds; the input's value is `?` and, in Camunda's
    way, `cellInput` (or the column's camunda:inputVariable)."""
    for index, (tests, value) in enumerate(zip(rule.tests, inputs)):
        if tests.always:
            continue
        try:
            if not tests.matches(value, cells[index]):
                return False
        except feel.TypeMismatch as mismatch:
            column = table.inputs[index].label
            raise DecisionError(
                f"决策{decision.label}规则 {rule.number} 的输入「{column}」无法比较：输入值 {_show(value)} 是"
                f"{_KIND_ZH.get(v.kind(value), v.kind(value))}，而条件 {tests.text} 需要"
                f"{_KIND_ZH.get(v.kind(mismatch.other), v.kind(mismatch.other))}。请检查案件数据或该列的类型"
                "（typeRef）。") from None
    return True


_KIND_ZH = {"number": "数字", "string": "文本", "boolean": "是/否", "date": "日期", "date and time": "日期时间",
            "time": "时间", "days and time duration": "时长", "years and months duration": "年月时长",
            "list": "列表", "context": "结构", "null": "空值"}


def _show(value: Any) -> str:
    shown = v.from_feel(value)
    text = f"“{shown}”" if isinstance(shown, str) else str(shown).replace("None", "null").replace("True", "true") \
        .replace("False", "false")
    return text if len(text) <= 60 else text[:57] + "…"


def _rule_outputs(decision: Decision, table: Table, rule: Rule, scope: feel.Scope) -> list[Any]:
    values = []
    for output, expression in zip(table.outputs, rule.outputs):
        value = expression.evaluate(scope=scope) if expression is not None else None
        where = f"决策{decision.label}规则 {rule.number} 的输出「{output.label}」"
        value = convert(value, output.type_ref, where)
        if value is not None and output.allowed is not None and not _allowed(output.allowed, value, scope):
            raise DecisionError(f"{where}的值 {_show(value)} 不在该列的输出取值 {output.allowed.text} 之中。"
                                "请分析员修改该规则的输出，或在该列的输出取值中加入它。")
        values.append(value)
    return values


def _apply_hit_policy(decision: Decision, table: Table, computed: list[tuple[Rule, list[Any]]]) -> list:
    policy = table.hit_policy
    if len(computed) <= 1 or policy in ("COLLECT", "RULE ORDER"):
        return computed
    numbers = "、".join(str(rule.number) for rule, _ in computed)
    if policy == "UNIQUE":
        raise DecisionError(f"决策{decision.label}的命中策略是 UNIQUE（唯一命中），但规则 {numbers} 同时命中。"
                            "请修改表格使至多一条规则命中，或改用 FIRST、PRIORITY、COLLECT 等命中策略。")
    if policy == "ANY":
        first = computed[0][1]
        if any(not _same(values, first) for _, values in computed[1:]):
            raise DecisionError(f"决策{decision.label}的命中策略是 ANY（任一命中），但同时命中的规则 {numbers} "
                                "输出不同。请使这些规则输出一致，或改用其他命中策略。")
        return computed[:1]
    if policy == "FIRST":
        return computed[:1]
    ordered = sorted(computed, key=lambda item: _priority(table, item[1]))
    return ordered[:1] if policy == "PRIORITY" else ordered


def _same(left: list[Any], right: list[Any]) -> bool:
    return all(v.equal(a, b) is True for a, b in zip(left, right))


def _priority(table: Table, values: list[Any]) -> tuple[int, ...]:
    """Position of each output value in its column's output values (earlier = higher priority)."""
    key = []
    for output, value in zip(table.outputs, values):
        position = next((i for i, p in enumerate(output.priorities) if v.equal(p, value) is True),
                        len(output.priorities))
        key.append(position)
    return tuple(key)


def _aggregate(decision: Decision, table: Table, selected: list[list[Any]]) -> list[dict[str, Any]]:
    output = table.outputs[0]
    name = _name(output, decision, 1)
    values = [values[0] for values in selected if values and values[0] is not None]
    if table.aggregation == "COUNT":
        return [{name: len(values)}]
    if not values:
        return []
    if table.aggregation == "SUM":
        if not all(v.is_number(value) for value in values):
            raise DecisionError(f"决策{decision.label}按 COLLECT SUM 求和，但输出「{output.label}」有非数字的值。")
        total = Decimal(0)
        for value in values:
            total = v.DECIMAL.add(total, value)
        return [{name: _out(total, output.type_ref)}]
    best = values[0]
    for value in values[1:]:
        better = v.compare(value, best, "<" if table.aggregation == "MIN" else ">")
        if better is None:
            raise DecisionError(f"决策{decision.label}按 COLLECT {table.aggregation} 比较，但输出"
                                f"「{output.label}」的值类型不同，无法比较。")
        if better:
            best = value
    return [{name: _out(best, output.type_ref)}]


# --- typeRef -----------------------------------------------------------------------------------

def convert(value: Any, type_ref: str | None, where: str) -> Any:
    """A FEEL value converted to a column's typeRef as Camunda's data type transformers do."""
    if value is None or not type_ref:
        return value
    converter = _CONVERTERS.get(type_ref.strip())
    if converter is None:
        return value
    converted = converter(value)
    if converted is _INVALID:
        raise DecisionError(f"{where}的值 {_show(value)} 不能转换为类型 {type_ref}"
                            f"（{_TYPE_ZH.get(type_ref.strip(), type_ref)}）。请检查案件数据或该列的类型。")
    return converted


_INVALID = object()
_TYPE_ZH = {"string": "文本", "boolean": "是/否：true 或 false", "integer": "整数", "long": "长整数",
            "double": "小数", "number": "数字", "date": "日期时间：yyyy-MM-dd'T'HH:mm:ss",
            "date and time": "日期时间", "time": "时间", "dayTimeDuration": "时长",
            "yearMonthDuration": "年月时长"}


def _to_string(value: Any) -> Any:
    return value if isinstance(value, str) else (to_string(value) or _INVALID)


def _to_boolean(value: Any) -> Any:
    if type(value) is bool:
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return _INVALID


def _whole(bits: int):
    limit = 2 ** (bits - 1)

    def convert_whole(value: Any) -> Any:
        if isinstance(value, str):
            number = whole_number(value, signed=True, most=None)
            value = Decimal(number) if number is not None else None
        if v.is_number(value) and value == value.to_integral_value() and -limit <= value < limit:
            return Decimal(int(value))
        return _INVALID
    return convert_whole


def _to_number(value: Any) -> Any:
    if v.is_number(value):
        return value
    if isinstance(value, str):
        from engine.feel.builtins import BUILTINS
        number = BUILTINS["number"].call(value.strip())
        return _INVALID if number is None else number
    return _INVALID


def _to_date_time(value: Any) -> Any:
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime.combine(value, time())
    parsed = v.parse_date_time(value) if isinstance(value, str) else None
    return _INVALID if parsed is None else parsed


def _parsed(kind: type, parse) -> Any:
    def convert_parsed(value: Any) -> Any:
        if isinstance(value, kind) and not (kind is date and isinstance(value, datetime)):
            return value
        parsed = parse(value) if isinstance(value, str) else None
        return parsed if isinstance(parsed, kind) else _INVALID
    return convert_parsed


_CONVERTERS = {
    "string": _to_string, "boolean": _to_boolean, "integer": _whole(32), "long": _whole(64),
    "double": _to_number, "number": _to_number, "date": _to_date_time, "date and time": _to_date_time,
    "dateTime": _to_date_time, "time": _parsed(time, v.parse_time),
    "dayTimeDuration": _parsed(timedelta, v.parse_duration),
    "days and time duration": _parsed(timedelta, v.parse_duration),
    "yearMonthDuration": _parsed(v.YearsMonths, v.parse_duration),
    "years and months duration": _parsed(v.YearsMonths, v.parse_duration),
}


def _out(value: Any, type_ref: str | None) -> Any:
    """A FEEL value as task data; a double column gives a float even for whole numbers."""
    if type_ref == "double" and v.is_number(value):
        return float(value)
    return v.from_feel(value)
