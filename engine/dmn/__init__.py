"""DMN decisions as Camunda 7 evaluates them: compiled from the deployed files (model), evaluated
with every hit policy and required decisions (evaluate), results mapped into process variables as
`camunda:mapDecisionResult` says (here)."""
from __future__ import annotations

from typing import Any

from engine.dmn.evaluate import DecisionError, Evaluation, Hit, evaluate
from engine.dmn.model import Decision, DmnFile, blocked_by, read_dmn

__all__ = ["Decision", "DecisionError", "DmnFile", "Evaluation", "Hit", "MAPPINGS", "blocked_by",
           "evaluate", "map_result", "read_dmn"]

#: camunda:mapDecisionResult values; Camunda's default (with a resultVariable) is resultList.
MAPPINGS = ("singleEntry", "singleResult", "collectEntries", "resultList")


def map_result(evaluation: Evaluation, mapping: str | None) -> Any:
    """The value `camunda:resultVariable` receives, exactly as Camunda's result mappers give it."""
    mapping = mapping or "resultList"
    results = evaluation.results
    label = f"决策「{evaluation.name or evaluation.decision_id}」"
    if mapping == "resultList":
        return [dict(result) for result in results]
    if mapping == "collectEntries":
        if any(len(result) > 1 for result in results):
            raise DecisionError(f"{label}的结果有多个输出列，mapDecisionResult=\"collectEntries\" 只能收集一个"
                                "输出列：请改用 resultList。")
        return [next(iter(result.values())) for result in results]
    if len(results) > 1:
        raise DecisionError(f"{label}有 {len(results)} 条结果（规则 {', '.join(str(h.rule) for h in evaluation.hits)}），"
                            f"mapDecisionResult=\"{mapping}\" 要求至多一条：请改用 collectEntries 或 resultList，"
                            "或修改命中策略。")
    if not results:
        return None
    if mapping == "singleResult":
        return dict(results[0])
    if len(results[0]) > 1:
        raise DecisionError(f"{label}的结果有 {len(results[0])} 个输出，mapDecisionResult=\"singleEntry\" 要求只有"
                            "一个：请改用 singleResult。")
    return next(iter(results[0].values()))
