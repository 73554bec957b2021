"""Decisions per second: bpmdesk's DMN (FEEL, through the service layer) vs SpiffWorkflow's own
DMN engine, on one 50-rule, 5-input COLLECT table, in the same run (interleaved rounds).

bpmdesk: the table is deployed with a process and evaluated by `services.evaluate_decision` (the
path of `bpmdesk decide`: database check for newer deployments, cached compiled decisions, FEEL
unary tests compiled once per deployed version). SpiffWorkflow: its DMNEngine with its stock
PythonScriptEngine on the same table written in the Python its engine expects (the same tests:
comparisons, ranges, lists, "-"), each cell evaluated by SpiffWorkflow as it does in a business rule
task. COLLECT makes both look at every rule of every evaluation.

    .venv/bin/python scripts/bench_dmn.py [--rounds 5] [--evaluations 400]

The last line is JSON: feel_decisions_per_s, spiff_decisions_per_s, ratio (feel / spiff; target ≥ 1).
"""
from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lxml import etree  # noqa: E402
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine  # noqa: E402
from SpiffWorkflow.camunda.parser import CamundaParser  # noqa: E402

from engine import services  # noqa: E402
from engine.compat import SourceFile  # noqa: E402
from engine.store import Database  # noqa: E402

RULES = 50
KINDS = ["retail", "wholesale", "online", "staff", "vip"]
COLUMNS = [("amount", "integer"), ("kind", "string"), ("days", "integer"), ("member", "boolean"), ("weight", "double")]


def cells(rule: int) -> list[tuple[str, str]]:
    """The five input entries of a rule, as (FEEL, SpiffWorkflow Python)."""
    low = rule * 20
    first, second = KINDS[rule % 5], KINDS[(rule + 2) % 5]
    return [
        (f"[{low}..{low + 400}]", f"dmninputexpr >= {low} and dmninputexpr <= {low + 400}"),
        (f'"{first}","{second}"', f'dmninputexpr in ("{first}", "{second}")'),
        (f"< {rule % 30 + 5}", f"< {rule % 30 + 5}"),
        ("-" if rule % 3 else "true", "-" if rule % 3 else "True"),
        (f"> {rule % 7}.5", f"> {rule % 7}.5"),
    ]


def spiff_cell(rule: int, column: int) -> str:
    """SpiffWorkflow's dialect: no FEEL ranges (its `?` form instead), an empty cell for "-"."""
    python = cells(rule)[column][1]
    return "" if python == "-" else python


def table(dialect: str) -> bytes:
    inputs = "".join(f'<input id="i{n}" label="{name}"><inputExpression id="x{n}" typeRef="{kind}"><text>{name}'
                     f"</text></inputExpression></input>" for n, (name, kind) in enumerate(COLUMNS))
    rules = []
    for rule in range(RULES):
        entries = []
        for column in range(len(COLUMNS)):
            text = cells(rule)[column][0] if dialect == "feel" else spiff_cell(rule, column)
            escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            entries.append(f'<inputEntry id="r{rule}i{column}"><text>{escaped}</text></inputEntry>')
        rules.append(f'<rule id="r{rule}">{"".join(entries)}<outputEntry id="r{rule}o"><text>{rule + 1}'
                     f"</text></outputEntry></rule>")
    return (f'<?xml version="1.0" encoding="UTF-8"?><definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" '
            f'id="bench" name="bench" namespace="http://camunda.org/schema/1.0/dmn"><decision id="bench_table" '
            f'name="bench"><decisionTable id="t" hitPolicy="COLLECT">{inputs}<output id="o" name="rule" '
            f'typeRef="integer"/>{"".join(rules)}</decisionTable></decision></definitions>').encode()


PROCESS = b'''<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
  id="d" targetNamespace="http://bpmn.io/schema/bpmn"><bpmn:process id="bench" isExecutable="true">
  <bpmn:startEvent id="s"/><bpmn:businessRuleTask id="t" camunda:decisionRef="bench_table"/><bpmn:endEvent id="e"/>
  <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="t"/><bpmn:sequenceFlow id="f2" sourceRef="t" targetRef="e"/>
  </bpmn:process></bpmn:definitions>'''


def inputs(count: int) -> list[dict]:
    chooser = random.Random(7)
    return [{"amount": chooser.randrange(0, 1400), "kind": chooser.choice(KINDS), "days": chooser.randrange(0, 40),
             "member": chooser.random() < 0.5, "weight": round(chooser.uniform(0, 9), 2)} for _ in range(count)]


def spiff_engine():
    parser = CamundaParser()
    parser.add_dmn_xml(etree.fromstring(table("spiff")), filename="bench.dmn")
    engine = parser.get_engine("bench_table", None)
    workflow = SimpleNamespace(script_engine=PythonScriptEngine())
    return lambda data: engine.result(SimpleNamespace(data=data, workflow=workflow))


def rate(evaluate, data: list[dict]) -> float:
    started = time.perf_counter()
    for item in data:
        evaluate(item)
    return len(data) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--evaluations", type=int, default=400)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        db = Database(f"sqlite:///{folder}/bench.db")
        db.upgrade_schema()
        services.deploy_files(db, [SourceFile("bench.bpmn", PROCESS), SourceFile("bench.dmn", table("feel"))], services.Actor.operator())
        ours = lambda data: services.evaluate_decision(db, "bench_table", data, services.Actor.operator())  # noqa: E731
        theirs = spiff_engine()
        data = inputs(args.evaluations)
        agree = all(ours(item).by_output_name()["rule"] == theirs(dict(item)).get("rule", []) for item in data[:100])
        feel_rates, spiff_rates = [], []
        for _ in range(args.rounds):
            feel_rates.append(rate(ours, data))
            spiff_rates.append(rate(lambda item: theirs(dict(item)), data))
        db.dispose()
    feel_rate, spiff_rate = statistics.median(feel_rates), statistics.median(spiff_rates)
    print(f"{RULES} rules x {len(COLUMNS)} inputs, COLLECT, {args.evaluations} evaluations x {args.rounds} rounds; "
          f"same matches on the first 100 inputs: {agree}")
    print(f"bpmdesk FEEL via services.evaluate_decision: {feel_rate:,.0f} decisions/s")
    print(f"SpiffWorkflow DMNEngine (stock PythonScriptEngine): {spiff_rate:,.0f} decisions/s")
    print(json.dumps({"feel_decisions_per_s": round(feel_rate, 1), "spiff_decisions_per_s": round(spiff_rate, 1),
                      "ratio": round(feel_rate / spiff_rate, 2), "same_matches": agree}))


if __name__ == "__main__":
    main()
