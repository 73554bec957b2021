"""DMN as Camunda 7 evaluates it, through deploy and a running case (DMN 1.3 ch. 8 and 10;
docs.camunda.org 7.2x: hit policies, DRDs, mapDecisionResult). Each test deploys a business rule
task with its table through the service layer, starts a case and reads what the case holds."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine import clock, services
from engine.compat import SourceFile
from engine.errors import DeployError, NotFound, ProcessError
from webui import create_app

CAMUNDA = 'xmlns:camunda="http://camunda.org/schema/1.0/bpmn"'


def bpmn(task_attributes: str = "", after: str = "") -> bytes:
    """start → business rule task (decision "d") → [exclusive gateway routing on the result] → wait."""
    return f'''<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" {CAMUNDA} id="defs"
    targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:businessRuleTask id="Decide" camunda:decisionRef="d" {task_attributes}/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="Decide"/>
    {after or '<bpmn:userTask id="Wait"/><bpmn:sequenceFlow id="f2" sourceRef="Decide" targetRef="Wait"/>'}
    <bpmn:endEvent id="end"/>
    <bpmn:sequenceFlow id="f9" sourceRef="Wait" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>'''.encode()


def table(inputs: list[tuple[str, str | None]], outputs: list[tuple[str, str | None]],
          rules: list[tuple[list[str], list[str]]], hit_policy: str = "UNIQUE", extra: str = "",
          output_values: dict[str, str] | None = None, decision_id: str = "d", name: str = "测试决策") -> str:
    """One decision table: inputs (expression, typeRef), outputs (name, typeRef), rules (cells)."""
    aggregation = ""
    if " " in hit_policy and hit_policy.split()[0] == "COLLECT":
        hit_policy, aggregation = "COLLECT", f' aggregation="{hit_policy.split()[1]}"'
    columns = "".join(
        f'<input id="{decision_id}_i{n}" label="{text}"><inputExpression id="{decision_id}_ie{n}"{_type(t)}><text>{_x(text)}</text>'
        f"</inputExpression></input>" for n, (text, t) in enumerate(inputs))
    for n, (out, t) in enumerate(outputs):
        values = (output_values or {}).get(out)
        columns += (f'<output id="{decision_id}_o{n}" label="{out}" name="{out}"{_type(t)}>'
                    + (f'<outputValues id="{decision_id}_ov{n}"><text>{_x(values)}</text></outputValues>' if values else "")
                    + "</output>")
    body = "".join(
        f'<rule id="{decision_id}_r{r}">' + "".join(f'<inputEntry id="{decision_id}_r{r}i{n}"><text>{_x(c)}</text></inputEntry>'
                                      for n, c in enumerate(ins))
        + "".join(f'<outputEntry id="{decision_id}_r{r}o{n}"><text>{_x(c)}</text></outputEntry>' for n, c in enumerate(outs))
        + "</rule>" for r, (ins, outs) in enumerate(rules))
    return (f'<decision id="{decision_id}" name="{name}">{extra}<decisionTable id="t_{decision_id}" '
            f'hitPolicy="{hit_policy}"{aggregation}>{columns}{body}</decisionTable></decision>')


def _type(type_ref: str | None) -> str:
    return f' typeRef="{type_ref}"' if type_ref else ""


def _x(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def dmn(*decisions: str) -> bytes:
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" '
            'id="defs_d" name="D" namespace="http://camunda.org/schema/1.0/dmn">\n'
            + "\n".join(decisions) + "\n</definitions>").encode()


def run(db, decisions: bytes, data: dict, task_attributes: str = "", after: str = "") -> dict:
    """Deploy the process with its DMN file, start a case with `data`, return the case's data."""
    services.deploy_files(db, [SourceFile("p.bpmn", bpmn(task_attributes, after)), SourceFile("d.dmn", decisions)], services.Actor.operator())
    instance_id = services.start_instance(db, "p", services.Actor.operator(), data)
    return services.show_instance(db, instance_id, services.Actor.operator()).data


def deploy_problems(db, decisions: bytes, task_attributes: str = "") -> list[str]:
    with pytest.raises(DeployError) as raised:
        services.deploy_files(db, [SourceFile("p.bpmn", bpmn(task_attributes)), SourceFile("d.dmn", decisions)], services.Actor.operator())
    return raised.value.problems


# --- unary tests -------------------------------------------------------------------------------

COMMA_LISTS = dmn(table([("source", "string")], [("handler", "string")], [
    (['"external","staff_private"'], ['"desk"']),
    (['"投诉", "建议"'], ['"客服主管"']),
    (['not ("internal")'], ['"other"']),
], hit_policy="FIRST"))


@pytest.mark.parametrize("source, handler", [
    ("external", "desk"), ("staff_private", "desk"), ("投诉", "客服主管"), ("建议", "客服主管"),
    ("walk-in", "other"), ("internal", None)])
def test_comma_lists_in_ascii_and_chinese_and_not_with_a_space(empty_db, source, handler):
    assert run(empty_db, COMMA_LISTS, {"source": source})["handler"] == handler


RANGES = dmn(table([("n", "integer")], [("bracket", "string")], [
    (["[1..10]"], ['"closed"']), (["(1..10)"], ['"open"']), (["]1..10["], ['"open reversed"']),
    (["[1..10["], ['"right open"']), (["< 0, > 100"], ['"outside"']), (["-"], ['"any"']),
], hit_policy="RULE ORDER"), )


@pytest.mark.parametrize("n, brackets", [
    (1, ["closed", "right open", "any"]), (10, ["closed", "any"]), (5, ["closed", "open", "open reversed",
                                                                        "right open", "any"]),
    (-3, ["outside", "any"]), (101, ["outside", "any"]), ("7", ["closed", "open", "open reversed", "right open", "any"])])
def test_every_range_bracket_and_comparison_lists(empty_db, n, brackets):
    data = run(empty_db, RANGES, {"n": n}, 'camunda:resultVariable="hits" camunda:mapDecisionResult="collectEntries"')
    assert data["hits"] == brackets


DATES = dmn(table(
    [("received", "date"), ("date(due)", None), ("date(due) - date(sent)", None)],
    [("lane", "string")], [
        (['[date and time("2026-01-01T00:00:00")..date and time("2026-06-30T23:59:59")]', "-", "-"], ['"first half"']),
        (["-", '< date("2026-12-01")', '> duration("P7D")'], ['"slow, early due"']),
        (["-", '>= date("2026-12-01")', "-"], ['"late due"']),
    ], hit_policy="FIRST"))


@pytest.mark.parametrize("received, due, sent, lane", [
    ("2026-03-01T09:00:00", "2026-12-31", "2026-12-01", "first half"),
    ("2026-07-01T09:00:00", "2026-11-30", "2026-11-01", "slow, early due"),
    ("2026-07-01T09:00:00", "2026-12-24", "2026-12-20", "late due"),
    ("2026-07-01T09:00:00", "2026-11-30", "2026-11-28", None)])
def test_dates_date_times_and_durations(empty_db, received, due, sent, lane):
    data = run(empty_db, DATES, {"received": received, "due": due, "sent": sent})
    assert data["lane"] == lane


def test_null_input_matches_a_null_test_and_an_unmatched_table_gives_null_a_gateway_can_test(empty_db):
    decisions = dmn(table([("level", "string")], [("team", "string")], [
        (["null"], ['"triage"']), (['"vip"'], ['"premium"'])]))
    gateway = '''<bpmn:exclusiveGateway id="G"/><bpmn:sequenceFlow id="f2" sourceRef="Decide" targetRef="G"/>
      <bpmn:userTask id="Wait"/><bpmn:userTask id="Nobody"/>
      <bpmn:sequenceFlow id="g1" sourceRef="G" targetRef="Nobody"><bpmn:conditionExpression>${team == null}</bpmn:conditionExpression></bpmn:sequenceFlow>
      <bpmn:sequenceFlow id="g2" sourceRef="G" targetRef="Wait"><bpmn:conditionExpression>${team != null}</bpmn:conditionExpression></bpmn:sequenceFlow>
      <bpmn:sequenceFlow id="g3" sourceRef="Nobody" targetRef="end"/>'''
    assert run(empty_db, decisions, {}, after=gateway)["team"] == "triage"
    unmatched = run(empty_db, decisions, {"level": "normal"}, after=gateway)
    assert unmatched["team"] is None
    assert [t.element_id for t in services.show_instance(empty_db, 2, services.Actor.operator()).open_tasks] == ["Nobody"]


# --- hit policies ------------------------------------------------------------------------------

FEES = [(["> 0"], ["10"]), (["> 100"], ["25"]), (["> 1000"], ["5"]), (["< 0"], ["99"])]


@pytest.mark.parametrize("aggregation, amount, result", [
    ("SUM", 500, 35), ("MIN", 5000, 5), ("MAX", 5000, 25), ("COUNT", 5000, 3), ("COUNT", 0, 0), ("SUM", 0, None)])
def test_collect_aggregators(empty_db, aggregation, amount, result):
    decisions = dmn(table([("amount", "integer")], [("fee", "integer")], FEES, hit_policy=f"COLLECT {aggregation}"))
    assert run(empty_db, decisions, {"amount": amount})["fee"] == result


def test_collect_without_aggregation_lists_every_match_in_rule_order(empty_db):
    decisions = dmn(table([("amount", "integer")], [("fee", "integer")], FEES, hit_policy="COLLECT"))
    assert run(empty_db, decisions, {"amount": 500})["fee"] == [10, 25]


PRIORITY_RULES = [(["> 0"], ['"low"']), (["> 100"], ['"high"']), (["> 50"], ['"medium"'])]


def test_priority_returns_the_match_whose_output_comes_first_in_the_output_values(empty_db):
    decisions = dmn(table([("amount", "integer")], [("risk", "string")], PRIORITY_RULES, hit_policy="PRIORITY",
                          output_values={"risk": '"high","medium","low"'}))
    assert run(empty_db, decisions, {"amount": 500})["risk"] == "high"
    assert run(empty_db, decisions, {"amount": 60})["risk"] == "medium"


def test_output_order_sorts_every_match_by_output_values(empty_db):
    decisions = dmn(table([("amount", "integer")], [("risk", "string")], PRIORITY_RULES, hit_policy="OUTPUT ORDER",
                          output_values={"risk": '"high","medium","low"'}))
    assert run(empty_db, decisions, {"amount": 500})["risk"] == ["high", "medium", "low"]


@pytest.mark.parametrize("policy, rules", [
    ("UNIQUE", [(["> 0"], ['"a"']), (["> 10"], ['"b"'])]),
    ("ANY", [(["> 0"], ['"a"']), (["> 10"], ['"b"'])])])
def test_unique_and_any_violations_are_errors_naming_decision_and_rules(empty_db, policy, rules):
    decisions = dmn(table([("amount", "integer")], [("x", "string")], rules, hit_policy=policy))
    with pytest.raises(ProcessError) as raised:
        run(empty_db, decisions, {"amount": 50})
    assert f"决策「测试决策」(d)的命中策略是 {policy}" in raised.value.message
    assert "规则 1、2" in raised.value.message
    with pytest.raises(NotFound):  # the failed start saved no case
        services.show_instance(empty_db, 1, services.Actor.operator())


def test_any_with_equal_outputs_is_not_a_violation(empty_db):
    decisions = dmn(table([("amount", "integer")], [("x", "string")], [(["> 0"], ['"a"']), (["> 10"], ['"a"'])],
                          hit_policy="ANY"))
    assert run(empty_db, decisions, {"amount": 50})["x"] == "a"


# --- output expressions, DRDs, literal expressions ---------------------------------------------

def test_output_entries_are_feel_expressions(empty_db):
    decisions = dmn(table([("price", "double")], [("fee", "double"), ("note", "string")], [
        (["> 1000"], ["price * 0.1", '"单价 " + string(price) + " 元"']),
        (["-"], ["0", 'if price = 0 then "免费" else "小额"'])], hit_policy="FIRST"))
    assert run(empty_db, decisions, {"price": 1299})["fee"] == pytest.approx(129.9)
    data = run(empty_db, decisions, {"price": 10})
    assert (data["fee"], data["note"]) == (0.0, "小额")


def test_a_decision_requiring_another_sees_its_outputs(empty_db):
    season = table([("month", "integer")], [("season", "string")], [
        (["[3..5]"], ['"spring"']), (["[6..8]"], ['"summer"']), (["-"], ['"other"'])],
        hit_policy="FIRST", decision_id="season", name="Season")
    dish = table([("season", "string"), ("guests", "integer")], [("dish", "string")], [
        (['"summer"', "> 4"], ['"barbecue"']), (['"summer"', "<= 4"], ['"salad"']), (["-", "-"], ['"stew"'])],
        hit_policy="FIRST", extra='<informationRequirement id="ir"><requiredDecision href="#season"/></informationRequirement>')
    assert run(empty_db, dmn(season, dish), {"month": 7, "guests": 8})["dish"] == "barbecue"
    assert run(empty_db, dmn(season, dish), {"month": 1, "guests": 8})["dish"] == "stew"


LITERAL = dmn('''<decision id="d" name="Approver"><variable name="approver" typeRef="string"/>
  <literalExpression id="le"><text>if amount &gt; 1000 then "主管" else "客服"</text></literalExpression></decision>''')


def test_literal_expression_decision(empty_db):
    assert run(empty_db, LITERAL, {"amount": 5000})["approver"] == "主管"
    assert run(empty_db, LITERAL, {"amount": 50}, 'camunda:resultVariable="who" '
                                                   'camunda:mapDecisionResult="singleEntry"')["who"] == "客服"


def test_an_unsupported_decision_does_not_block_the_others_of_its_file(empty_db):
    boxed = '<decision id="boxed" name="Boxed"><context id="c"/></decision>'
    assert run(empty_db, dmn(boxed, table([("x", None)], [("y", None)], [(["-"], ["1"])])), {})["y"] == 1
    found = deploy_problems(empty_db, dmn(boxed.replace('id="boxed"', 'id="d"')))
    assert 'decision "d" cannot be evaluated: its logic is a boxed context' in found[0]


# --- camunda:resultVariable and mapDecisionResult ----------------------------------------------

TWO_OUTPUTS = dmn(table([("amount", "integer")], [("level", "string"), ("days", "integer")], [
    (["> 0"], ['"low"', "3"]), (["> 1000"], ['"high"', "1"])], hit_policy="RULE ORDER"))
ONE_OUTPUT = dmn(table([("amount", "integer")], [("level", "string")], [
    (["> 0"], ['"low"']), (["> 1000"], ['"high"'])], hit_policy="RULE ORDER"))


@pytest.mark.parametrize("decisions, mapping, amount, expected", [
    (ONE_OUTPUT, "singleEntry", 5, "low"),
    (ONE_OUTPUT, "singleEntry", -5, None),
    (TWO_OUTPUTS, "singleResult", 5, {"level": "low", "days": 3}),
    (ONE_OUTPUT, "collectEntries", 5000, ["low", "high"]),
    (ONE_OUTPUT, "collectEntries", -5, []),
    (TWO_OUTPUTS, "resultList", 5000, [{"level": "low", "days": 3}, {"level": "high", "days": 1}]),
    (TWO_OUTPUTS, None, 5, [{"level": "low", "days": 3}])])
def test_result_variable_with_each_map_decision_result(empty_db, decisions, mapping, amount, expected):
    attributes = 'camunda:resultVariable="result"' + (f' camunda:mapDecisionResult="{mapping}"' if mapping else "")
    data = run(empty_db, decisions, {"amount": amount}, attributes)
    assert data["result"] == expected
    assert "level" not in data  # with a resultVariable only that variable is set, as in Camunda


@pytest.mark.parametrize("decisions, mapping, message", [
    (ONE_OUTPUT, "singleEntry", 'mapDecisionResult="singleEntry" 要求至多一条'),
    (TWO_OUTPUTS, "collectEntries", 'mapDecisionResult="collectEntries" 只能收集一个输出列')])
def test_a_result_the_mapping_cannot_hold_is_an_error(empty_db, decisions, mapping, message):
    with pytest.raises(ProcessError) as raised:
        run(empty_db, decisions, {"amount": 5000},
            f'camunda:resultVariable="r" camunda:mapDecisionResult="{mapping}"')
    assert message in raised.value.message


def test_result_variable_routes_a_gateway_the_camunda_way(empty_db):
    gateway = '''<bpmn:exclusiveGateway id="G"/><bpmn:sequenceFlow id="f2" sourceRef="Decide" targetRef="G"/>
      <bpmn:userTask id="Wait"/><bpmn:userTask id="Manager"/>
      <bpmn:sequenceFlow id="g1" sourceRef="G" targetRef="Manager"><bpmn:conditionExpression>${result == "high"}</bpmn:conditionExpression></bpmn:sequenceFlow>
      <bpmn:sequenceFlow id="g2" sourceRef="G" targetRef="Wait"><bpmn:conditionExpression>${result != "high"}</bpmn:conditionExpression></bpmn:sequenceFlow>
      <bpmn:sequenceFlow id="g3" sourceRef="Manager" targetRef="end"/>'''
    decisions = dmn(table([("amount", "integer")], [("level", "string")], [
        (["<= 1000"], ['"low"']), (["> 1000"], ['"high"'])]))
    run(empty_db, decisions, {"amount": 5000}, 'camunda:resultVariable="result" '
                                               'camunda:mapDecisionResult="singleEntry"', after=gateway)
    assert [t.element_id for t in services.show_instance(empty_db, 1, services.Actor.operator()).open_tasks] == ["Manager"]


# --- deploy-time and run-time errors -----------------------------------------------------------

def test_every_feel_problem_is_refused_at_deploy_with_file_line_decision_rule_and_column(empty_db):
    decisions = dmn(table([("kind", "string")], [("x", "string")], [
        (['"a"，"b"'], ['"ok"']), (['"c"'], ["'single quoted'"]), (["[1..]"], ['"y"']),
        (['"d"'], ["stringlength(kind)"])]))
    found = deploy_problems(empty_db, decisions)
    assert found[0].startswith('d.dmn:3: decision "d", rule 1, column "kind": input entry')
    assert "full-width '，'" in found[0]
    assert 'rule 2, column "x": output entry' in found[1] and "double quotes" in found[1]
    assert 'rule 3, column "kind"' in found[2]
    assert "rule 4, column \"x\": output entry 'stringlength(kind)': unknown function 'stringlength' " \
           "(did you mean 'string length'?)" in found[3]


def test_a_literal_entry_outside_the_input_values_is_refused_at_deploy(empty_db):
    decisions = dmn(table([("kind", "string")], [("x", "string")], [(['"extrnal"'], ['"ok"'])]).replace(
        "</inputExpression></input>", '</inputExpression><inputValues id="iv"><text>"external","internal"</text>'
                                      "</inputValues></input>"))
    assert "input entry '\"extrnal\"' is not among the column's input values" in deploy_problems(empty_db, decisions)[0]


def with_values(decisions: bytes, inputs: str = "", outputs: str = "") -> bytes:
    """The table's first input column and first output column given input/output values."""
    if inputs:
        decisions = decisions.replace(b"</inputExpression></input>", f'</inputExpression><inputValues id="iv">'
                                      f"<text>{_x(inputs)}</text></inputValues></input>".encode(), 1)
    if outputs:
        decisions = decisions.replace(b"></output>", f'><outputValues id="ov"><text>{_x(outputs)}</text>'
                                      f"</outputValues></output>".encode(), 1)
    return decisions


CHANNELS = dmn(table([("channel", "string"), ("amount", "integer")], [("fee", "integer")], [
    (['"phone"', "-"], ["10"]), (['"web"', "-"], ["amount * 2"])], hit_policy="FIRST"))


def test_an_input_outside_its_input_values_stops_the_step_naming_decision_column_and_value(empty_db):
    decisions = with_values(CHANNELS, inputs='"phone","web"')
    assert run(empty_db, decisions, {"channel": "web", "amount": 3})["fee"] == 6
    with pytest.raises(ProcessError) as raised:
        run(empty_db, decisions, {"channel": "wechat", "amount": 3})
    assert ('决策「测试决策」(d)的输入「channel」的值 “wechat” 不在该列的输入取值 "phone","web" 之中'
            in raised.value.message)
    assert run(empty_db, decisions, {"amount": 3})["fee"] is None  # a missing value is null: no rule matched


def test_an_output_outside_its_output_values_stops_the_step_naming_rule_column_and_value(empty_db):
    decisions = with_values(CHANNELS, outputs="[0..100]")
    assert run(empty_db, decisions, {"channel": "web", "amount": 50})["fee"] == 100
    with pytest.raises(ProcessError) as raised:
        run(empty_db, decisions, {"channel": "web", "amount": 51})
    assert "决策「测试决策」(d)规则 2 的输出「fee」的值 102 不在该列的输出取值 [0..100] 之中" in raised.value.message


def test_deploy_says_that_input_and_output_values_are_checked_unlike_camunda(empty_db):
    report = services.deploy_files(empty_db, [SourceFile("p.bpmn", bpmn()), SourceFile(
        "d.dmn", with_values(CHANNELS, inputs='"phone","web"'))], services.Actor.operator())
    assert any('decision "d": a value outside the input/output values of column \'channel\' stops the step'
               in note and "Camunda 7 does not check" in note for note in report.translations)


# --- camunda:decisionRefBinding ----------------------------------------------------------------

def fee_table(fee: int, tag: str = "") -> bytes:
    decisions = dmn(table([("kind", "string")], [("fee", "integer")], [(["-"], [str(fee)])]))
    if tag:
        decisions = decisions.replace(b'<decision id="d"', f'<decision id="d" camunda:versionTag="{tag}"'.encode())
        decisions = decisions.replace(b"<definitions ", b'<definitions xmlns:camunda="http://camunda.org/schema/1.0/dmn" ')
    return decisions


def fee_with(db, task_attributes: str, *extra: SourceFile) -> int:
    """Deploy the process alone (with `extra` files) and run one case: the fee its decision gave."""
    services.deploy_files(db, [SourceFile("p.bpmn", bpmn(task_attributes)), *extra], services.Actor.operator())
    instance_id = services.start_instance(db, "p", services.Actor.operator(), {"kind": "x"})
    return services.show_instance(db, instance_id, services.Actor.operator()).data["fee"]


@pytest.fixture()
def three_versions(empty_db):
    """Decision d deployed three times with changed content: v1 fee 10, v2 fee 20 (tag "2026-冬"), v3 fee 30;
    the second deployment of v1's content is no new version."""
    for fee, tag in ((10, ""), (10, ""), (20, "2026-冬"), (30, "")):
        assert fee_with(empty_db, "", SourceFile("d.dmn", fee_table(fee, tag))) == fee
    return empty_db


@pytest.mark.parametrize("attributes, fee", [
    ("", 30), ('camunda:decisionRefBinding="latest"', 30),
    ('camunda:decisionRefBinding="version" camunda:decisionRefVersion="1"', 10),
    ('camunda:decisionRefBinding="version" camunda:decisionRefVersion="2"', 20),
    ('camunda:decisionRefBinding="versionTag" camunda:decisionRefVersionTag="2026-冬"', 20)])
def test_decision_ref_binding_selects_the_version_camunda_would(three_versions, attributes, fee):
    assert fee_with(three_versions, attributes) == fee


def test_a_version_bound_task_keeps_its_version_when_the_deployment_brings_a_newer_table(three_versions):
    fee = fee_with(three_versions, 'camunda:decisionRefBinding="version" camunda:decisionRefVersion="1"',
                          SourceFile("d.dmn", fee_table(40)))
    assert fee == 10
    assert fee_with(three_versions, "", SourceFile("d.dmn", fee_table(40))) == 40  # latest: this deployment's


@pytest.mark.parametrize("attributes, problem", [
    ('camunda:decisionRefBinding="version" camunda:decisionRefVersion="4"',
     'needs DMN decision "d", but no deployed version of it is v4 (deployed: v1, v2 (versionTag "2026-冬"), v3)'),
    ('camunda:decisionRefBinding="version" camunda:decisionRefVersion="${v}"',
     'decisionRefBinding="version" needs camunda:decisionRefVersion as a number (got "${v}")'),
    ('camunda:decisionRefBinding="versionTag" camunda:decisionRefVersionTag="2027"',
     'no deployed version of it has versionTag "2027"'),
    ('camunda:decisionRefBinding="deployment"', 'which is not in this deployment (decisionRefBinding="deployment")'),
    ('camunda:decisionRefBinding="newest"', 'decisionRefBinding="newest" is none of latest, deployment, version, versionTag')])
def test_a_binding_that_finds_no_version_is_refused_at_deploy_naming_what_is_deployed(three_versions, attributes, problem):
    with pytest.raises(DeployError) as raised:
        services.deploy_files(three_versions, [SourceFile("p.bpmn", bpmn(attributes))], services.Actor.operator())
    assert any(problem in line and line.startswith("p.bpmn:") for line in raised.value.problems), raised.value.problems


def test_two_versions_with_one_version_tag_are_refused_as_camunda_refuses_them(empty_db):
    for fee in (10, 20):
        fee_with(empty_db, "", SourceFile("d.dmn", fee_table(fee, "v1")))
    with pytest.raises(DeployError) as raised:
        fee_with(empty_db, 'camunda:decisionRefBinding="versionTag" camunda:decisionRefVersionTag="v1"')
    assert 'versions v1, v2 all have versionTag "v1"' in raised.value.problems[0]


def test_map_decision_result_must_be_one_camunda_knows(empty_db):
    found = deploy_problems(empty_db, ONE_OUTPUT, 'camunda:resultVariable="r" camunda:mapDecisionResult="first"')
    assert 'camunda:mapDecisionResult="first" is none of singleEntry, singleResult, collectEntries, resultList' in found[0]


def test_text_given_to_a_number_column_is_a_clear_chinese_error_nothing_saved(empty_db):
    decisions = dmn(table([("amount", "integer")], [("x", "string")], [(["> 10"], ['"a"'])]))
    with pytest.raises(ProcessError) as raised:
        run(empty_db, decisions, {"amount": "很多"})
    assert "决策「测试决策」(d)的输入「amount」的值 “很多” 不能转换为类型 integer" in raised.value.message
    untyped = dmn(table([("amount", None)], [("x", "string")], [(["> 10"], ['"a"'])]))
    with pytest.raises(ProcessError) as raised:
        run(empty_db, untyped, {"amount": "很多"})
    assert "规则 1 的输入「amount」无法比较：输入值 “很多” 是文本，而条件 > 10 需要数字" in raised.value.message
    assert "Traceback" not in raised.value.message and "TypeError" not in raised.value.message


# --- testing a table without a case ------------------------------------------------------------

def test_bpmdesk_decide_prints_the_matched_rules_and_outputs(tmp_path):
    env = {**os.environ, "BPMDESK_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
           "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    (tmp_path / "p.bpmn").write_bytes(bpmn())
    (tmp_path / "d.dmn").write_bytes(TWO_OUTPUTS)

    def bpmdesk(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-c", "from engine.cli import main; main()", *args], cwd=tmp_path,
                              capture_output=True, text=True, env=env, timeout=60)
    assert bpmdesk("init").returncode == 0
    assert bpmdesk("deploy", str(tmp_path)).returncode == 0
    shown = bpmdesk("decide", "d", "--data", '{"amount": 5000}')
    assert shown.returncode == 0, shown.stderr
    assert "matched rules: 1, 2" in shown.stdout
    assert 'rule 2: level = "high", days = 1' in shown.stdout
    as_json = bpmdesk("decide", "d", "--data", '{"amount": 5}', "--json")
    assert json.loads(as_json.stdout)["results"] == [{"level": "low", "days": 3}]
    failed = bpmdesk("decide", "d", "--data", '{"amount": "很多"}')
    assert failed.returncode == 2 and "不能转换为类型 integer" in failed.stderr and "Traceback" not in failed.stderr
    assert "未部署" in bpmdesk("decide", "nothing").stderr


def test_the_api_evaluates_a_deployed_decision(db, tmp_path):
    app = create_app({"DATABASE_URL": db.url, "VAR_DIR": tmp_path})
    client = app.test_client()
    token = {"X-CSRFToken": client.get("/api/csrf").get_json()["csrf_token"]}
    signed_in = client.post("/api/login", json={"username": "frontdesk", "password": "demo"}, headers=token)
    token = {"X-CSRFToken": signed_in.get_json()["csrf_token"]}
    answer = client.post("/api/decisions/move_in_documents/evaluate", json={"data": {"applicant_type": "delegate"}},
                         headers=token)
    assert answer.status_code == 200
    assert [r["required_documents"] for r in answer.get_json()["results"]] == [
        "业主身份证", "入住通知单", "房屋买卖契约", "受托人身份证", "委托书"]
    assert answer.get_json()["matched"] == [1, 2, 3, 4, 5]
    missing = client.post("/api/decisions/nothing/evaluate", json={"data": {}}, headers=token)
    assert missing.status_code == 404 and "未部署" in missing.get_json()["error"]


# --- replay and timer-driven steps -------------------------------------------------------------

def test_replay_of_a_case_that_ran_a_decision_agrees_with_it(empty_db):
    run(empty_db, COMMA_LISTS, {"source": "投诉"}, 'camunda:resultVariable="r" camunda:mapDecisionResult="singleEntry"')
    replayed = services.replay(empty_db, 1, services.Actor.operator())
    assert replayed.compared and replayed.divergence is None


def test_a_decision_failing_in_a_timer_step_becomes_an_incident_on_the_case_with_the_chinese_message(empty_db):
    waiting = bpmn().replace(b'<bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="Decide"/>', b'''
      <bpmn:intermediateCatchEvent id="Later"><bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration>
      </bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
      <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="Later"/><bpmn:sequenceFlow id="f1" sourceRef="Later" targetRef="Decide"/>''')
    decisions = dmn(table([("amount", "integer")], [("x", "string")], [(["> 0"], ['"a"']), (["> 10"], ['"b"'])]))
    with clock.frozen("2026-11-23T09:00:00+08:00"):
        services.deploy_files(empty_db, [SourceFile("p.bpmn", waiting), SourceFile("d.dmn", decisions)], services.Actor.operator())
        instance_id = services.start_instance(empty_db, "p", services.Actor.operator(), {"amount": 50})
    for day in range(24, 30):
        with clock.frozen(f"2026-11-{day}T09:00:00+08:00"):
            services.fire_due_timers(empty_db)
    case = services.show_instance(empty_db, instance_id, services.Actor.operator())
    assert case.status == "incident"
    incident = [e for e in services.history(empty_db, instance_id, services.Actor.operator()) if e.type == "incident"]
    assert "命中策略是 UNIQUE" in incident[0].payload["message"] and "规则 1、2" in incident[0].payload["message"]


def test_default_output_entry_when_no_rule_matches_and_cell_input_names_the_input(empty_db):
    decisions = dmn(table([("amount", "integer")], [("level", "string")], [
        (["cellInput > 1000"], ['"high"']), (["? > 100"], ['"medium"'])], hit_policy="FIRST").replace(
        'typeRef="string"></output>', 'typeRef="string"><defaultOutputEntry id="def"><text>"low"</text>'
                                      "</defaultOutputEntry></output>"))
    assert [run(empty_db, decisions, {"amount": amount})["level"] for amount in (5000, 500, 5)] == [
        "high", "medium", "low"]


# --- FEEL in literal-expression decisions, tested as an analyst tests a table ----------------

FEEL_CASES = [
    ("0.1 + 0.2 = 0.3", True), ('string length("客服中心")', 4), ('substring("foobar", -2, 1)', "a"),
    ('upper case("abc") + lower case("DEF")', "ABCdef"), ('split("John Doe", "\\s")', ["John", "Doe"]),
    ('replace("abcd", "(ab)|(a)", "[1=$1][2=$2]")', "[1=ab][2=]cd"), ("modulo(-12, 5)", 3),
    ("decimal(1/3, 2)", 0.33), ("floor(-1.5) + ceiling(1.2)", 0), ("for x in [1,2], y in [3,4] return x*y", [3, 4, 6, 8]),
    ("every x in [1,2] satisfies x < 3", True), ("some x in [1,2] satisfies x > 2", False),
    ("[{x:1,y:2},{x:2,y:3}][x=1].y", [2]), ("{a: 1, b: a + 1}.b", 2), ("1 in (1, 2)", True), ("5 in [1..5)", False),
    ('date("2012-12-25") - date("2012-12-24")', "P1D"), ('date("2021-01-31") + duration("P1M")', "2021-02-28"),
    ('years and months duration(date("2011-12-22"), date("2013-08-24"))', "P1Y8M"),
    ('duration("P2DT3H").hours', 3), ('date and time("2016-12-09T15:37:00Z") = date and time("2016-12-09T16:37:00+01:00")', True),
    ('time("10:30:00") + duration("PT45M")', "11:15:00"), ('date(2019, 9, 17) instance of date', True),
    ("sort([3,1,2], function(a, b) a > b)", [3, 2, 1]), ("true and null", None), ("false and null", False),
    ('"a" < 1', None), ("sum([1,2,3]) / count([1,2,3])", 2), ("distinct values([1,2,1])", [1, 2]),
    ('if is defined(nothing) then "yes" else "no"', "no"), ('string(date("2012-12-25"))', "2012-12-25"),
]


@pytest.fixture
def literal_decisions(empty_db):
    literal = '<decision id="{id}" name="{id}"><literalExpression id="le_{id}"><text>{text}</text></literalExpression></decision>'
    cases = [literal.format(id=f"case{n}", text=_x(text)) for n, (text, _) in enumerate(FEEL_CASES)]
    used = table([("x", None)], [("y", None)], [(["-"], ["1"])])
    services.deploy_files(empty_db, [SourceFile("p.bpmn", bpmn()), SourceFile("d.dmn", dmn(used, *cases))],
                          services.Actor.operator())
    return empty_db


def test_feel_literal_expressions_evaluate_as_the_dmn_spec_says(literal_decisions):
    wrong = []
    for n, (text, expected) in enumerate(FEEL_CASES):
        got = services.evaluate_decision(literal_decisions, f"case{n}", {}, services.Actor.operator()).results[0]
        value = next(iter(got.values()))
        if value != expected or (type(expected) is bool) != (type(value) is bool):
            wrong.append((text, value, expected))
    assert wrong == []
