"""The business rule task SpiffWorkflow runs, evaluating its decision with engine.dmn.

It replaces SpiffWorkflow's own DMN evaluation through the hook SpiffWorkflow provides (the
parser's `get_engine` gives every BusinessRuleTask its `dmnEngine`), so live steps and replay take
the same path. What the task stores follows `camunda:resultVariable` / `camunda:mapDecisionResult`
exactly as Camunda 7 documents them; only a task asking for neither keeps bpmdesk's older behaviour
of setting each output column under its own name (docs/analysts.md, "DMN").
"""
from __future__ import annotations

from typing import Any, Mapping

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.camunda.specs.business_rule_task import BusinessRuleTask

from engine import scope
from engine.dmn.evaluate import DecisionError, Evaluation, evaluate
from engine.dmn.model import Decision
from engine.dmn import map_result


class DecisionEngine:
    """One decision of a deployed version, with the decisions it may require."""

    def __init__(self, decisions: Mapping[str, Decision], decision_id: str):
        self.decisions = decisions
        self.decision_id = decision_id

    def evaluate(self, data: Mapping[str, Any]) -> Evaluation:
        return evaluate(self.decisions, self.decision_id, data)


class DecisionTask(BusinessRuleTask):
    def __init__(self, wf_spec, name, dmnEngine: DecisionEngine, result_variable: str | None = None,
                 map_decision_result: str | None = None, **kwargs: Any):
        super().__init__(wf_spec, name, dmnEngine, **kwargs)
        self.result_variable = result_variable
        self.map_decision_result = map_decision_result

    def _run_hook(self, my_task) -> bool:
        try:
            evaluation = self.dmnEngine.evaluate(my_task.data)
            updates = self.variables(evaluation)
        except DecisionError as error:
            raise WorkflowTaskException(str(error), task=my_task) from None
        my_task.data.update(updates)
        scope.share(my_task, updates)  # one scope per case: the other branches see them at once
        return True

    def variables(self, evaluation: Evaluation) -> dict[str, Any]:
        """The process variables this task sets from the decision's result."""
        if self.result_variable:
            return {self.result_variable: map_result(evaluation, self.map_decision_result)}
        return evaluation.by_output_name()
