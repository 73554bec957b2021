"""Throughput of the deployment against bare SpiffWorkflow, measured in the same run.

bpmdesk: a 5-user-task process started and completed through the service layer on SQLite
(form validation, optimistic locking, task rows, hash-chained events, one commit per step); the
first task is found through the inbox query, each next one is what completing the previous one
opened (as the inbox tells the clerk; the inbox query has its own benchmark). As deployed, a case's workflow stays in the process's
cache between its steps (``uncached_*``: the same on a second connection with no cache, so every
step deserialises the state, as a step landing on another worker would).
bare: the same diagram on SpiffWorkflow alone, saving and loading its state (without the spec,
which is kept once) as JSON with the library's own serializer around every step.
The three run in interleaved rounds and each side's median round counts, so a machine whose speed
drifts during the run (a shared CI host) favours none of them.
Also: the cost of completing the 200th task of a looping case against the 2nd (history growth),
as medians of the last 20 completions and of completions 2–21, without the workflow cache.

    python scripts/bench.py [--instances 200] [--rounds 10] [--loop 200] [--db URL]

The last line is JSON: bpmdesk_inst_per_s, bare_inst_per_s, ratio, late_task_cost_ratio,
uncached_inst_per_s, uncached_ratio.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.camunda.parser import CamundaParser
from SpiffWorkflow.camunda.serializer import DEFAULT_CONFIG
from SpiffWorkflow.util.task import TaskState

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine import runtime, services  # noqa: E402
from engine.store import Database  # noqa: E402

FIVE_STEPS = ROOT / "tests" / "data" / "five_steps.bpmn"
REVIEW_LOOP = ROOT / "tests" / "data" / "review_loop.bpmn"
CLERK = "bench-clerk"


def step_values(step: int) -> dict[str, object]:
    return {f"note_{step}": f"第{step}步说明", f"count_{step}": step}


def run_bpmdesk(db: Database, instances: int) -> float:
    started = time.perf_counter()
    for _ in range(instances):
        clerk = services.actor_for(db, CLERK)  # as a request reads the signed-in user once
        instance_id = services.start_instance(db, "five_steps", clerk, {})
        task = services.list_tasks(db, services.Actor.operator(), instance_id=instance_id).items[0]  # the new case in the inbox
        for step in range(1, 6):
            done = services.complete(db, task.id, clerk, step_values(step))
            task = done.next_tasks[0] if done.next_tasks else None  # what the step opened comes next
    return instances / (time.perf_counter() - started)


class BareLibrary:
    """Bare library: parsed once; each instance created, run and completed with the library's own
    serializer, saving and loading the state without its spec (kept once) as JSON around every step."""

    def __init__(self) -> None:
        parser = CamundaParser()
        parser.add_bpmn_str(FIVE_STEPS.read_bytes().replace(b"${count_5 &gt; 10}", b"count_5 &gt; 10"))
        self.spec, self.subprocess_specs = parser.get_spec("five_steps"), parser.get_subprocess_specs("five_steps")
        self.serializer = BpmnWorkflowSerializer(BpmnWorkflowSerializer.configure(DEFAULT_CONFIG))

    def save(self, workflow: BpmnWorkflow) -> str:
        state = self.serializer.to_dict(workflow)
        del state["spec"], state["subprocess_specs"]
        return json.dumps(state)

    def load(self, text: str) -> BpmnWorkflow:
        state = json.loads(text)
        state["spec"], state["subprocess_specs"] = self.spec, self.subprocess_specs
        return self.serializer.from_dict(state)

    def run(self, instances: int) -> float:
        started = time.perf_counter()
        for _ in range(instances):
            workflow = BpmnWorkflow(self.spec, self.subprocess_specs)
            workflow.do_engine_steps()
            state = self.save(workflow)
            for step in range(1, 6):
                workflow = self.load(state)
                task = workflow.get_tasks(state=TaskState.READY, manual=True)[0]
                task.data.update(step_values(step))
                task.run()
                workflow.do_engine_steps()
                state = self.save(workflow)
        return instances / (time.perf_counter() - started)


def late_task_cost_ratio(db: Database, loops: int) -> float:
    """Median cost of the last 20 completions of one looping case over completions 2–21."""
    clerk = services.actor_for(db, CLERK)
    instance_id = services.start_instance(db, "review_loop", clerk, {})
    costs = []
    for _ in range(loops):
        task = services.list_tasks(db, services.Actor.operator(), instance_id=instance_id).items[0]
        began = time.perf_counter()
        services.complete(db, task.id, clerk, {"again": True, "note": "再查一遍"})
        costs.append(time.perf_counter() - began)
    window = min(20, loops // 4)
    return statistics.median(costs[-window:]) / statistics.median(costs[1:1 + window])


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    options.add_argument("--instances", type=int, default=200)
    options.add_argument("--loop", type=int, default=200)
    options.add_argument("--rounds", type=int, default=10, help="interleaved rounds; each side's median counts")
    options.add_argument("--db", help="database URL (default: a fresh SQLite file)")
    args = options.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        db = Database(args.db or f"sqlite:///{folder}/bench.db")
        db.upgrade_schema()
        services.deploy_paths(db, [FIVE_STEPS, REVIEW_LOOP], services.Actor.operator("bench"))
        if services.get_user(db, CLERK) is None:
            services.add_user(db, CLERK, ["front-desk"], actor=services.Actor.operator("bench"))
        cold = Database(db.url)  # the same database, without the in-process workflow cache
        cold.workflow_cache = runtime.WorkflowCache(0)
        bare = BareLibrary()
        per_round = max(1, args.instances // args.rounds)
        run_bpmdesk(db, per_round), run_bpmdesk(cold, per_round), bare.run(per_round)  # warm up
        rates: dict[str, list[float]] = {"bpmdesk": [], "cold": [], "bare": []}
        for _ in range(args.rounds):  # interleaved, so a machine that speeds up or slows down is fair to all
            rates["bpmdesk"].append(run_bpmdesk(db, per_round))
            rates["cold"].append(run_bpmdesk(cold, per_round))
            rates["bare"].append(bare.run(per_round))
        late = late_task_cost_ratio(cold, args.loop)  # uncached: a growing state would show in every load
        cold.dispose()
        db.dispose()
    bpmdesk, uncached, library = (statistics.median(rates[name]) for name in ("bpmdesk", "cold", "bare"))
    print(f"bpmdesk: {bpmdesk:.1f} instances/s ({uncached:.1f} without the workflow cache)   "
          f"bare SpiffWorkflow + JSON save/load: {library:.1f} instances/s   (medians of {args.rounds} rounds)")
    print(f"ratio {bpmdesk / library:.2f} (target >= 0.5; {uncached / library:.2f} without the cache); "
          f"late task cost ratio {late:.2f} (target <= 1.5)")
    print(json.dumps({"bpmdesk_inst_per_s": round(bpmdesk, 1), "bare_inst_per_s": round(library, 1),
                      "ratio": round(bpmdesk / library, 3), "late_task_cost_ratio": round(late, 3),
                      "uncached_inst_per_s": round(uncached, 1), "uncached_ratio": round(uncached / library, 3)}))


if __name__ == "__main__":
    main()
