"""The evaluator: fidelity per candidate, and flags on suspicious results."""

import math

import pytest
from agents_helpers import ScriptedClient

from archlab.agents import Evaluator, FidelityContext, FidelityDecision
from archlab.llm import LLMClient
from archlab.records import CurvePoint, Result


@pytest.fixture
def evaluator():
    return Evaluator(LLMClient("mock"))


def test_low_proxy_rank_is_screened_out(evaluator):
    decision = evaluator.plan_fidelity(FidelityContext(exp_id="e0009", proxy_rank=0.05, best_val_accuracy=0.9,
                                                       parent_val_accuracy=0.8))
    assert decision.screen_out and decision.source == "model" and "proxy" in decision.reason


def test_a_parent_at_the_front_gets_the_full_budget(evaluator):
    decision = evaluator.plan_fidelity({"proxy_rank": 0.6, "best_val_accuracy": 0.9, "parent_val_accuracy": 0.9,
                                        "fidelities": [0.2, 1.0]})
    assert (decision.screen_out, decision.fidelity) == (False, 1.0)


def test_a_trailing_parent_gets_a_short_budget_then_promotion_if_it_competes(evaluator):
    ctx = FidelityContext(proxy_rank=0.6, best_val_accuracy=0.9, parent_val_accuracy=0.8, fidelities=[0.2, 1.0])
    assert evaluator.plan_fidelity(ctx).fidelity == 0.2
    promoted = evaluator.plan_fidelity(ctx.model_copy(update={"short_val_accuracy": 0.895}))
    assert promoted.promote and promoted.fidelity == 1.0
    kept = evaluator.plan_fidelity(ctx.model_copy(update={"short_val_accuracy": 0.7}))
    assert not kept.promote and kept.fidelity == 0.2


def test_an_answer_outside_the_allowed_fidelities_falls_back_to_full_budget():
    client = ScriptedClient(['{"fidelity": 0.33}', '{"fidelity": 0.5}'])
    decision = Evaluator(client).plan_fidelity(FidelityContext(fidelities=[0.25, 1.0]))
    assert decision.source == "fallback" and decision.fidelity == 1.0 and not decision.screen_out
    assert client.usage.agents["evaluator"].fallbacks == 1


def test_the_caller_fallback_is_used_when_given():
    client = ScriptedClient(["?", "?"])
    fallback = FidelityDecision(fidelity=0.25, reason="backbone default", source="fallback")
    assert Evaluator(client).plan_fidelity(FidelityContext(), fallback=fallback).fidelity == 0.25


def test_flags_train_val_gap():
    result = Result(status="ok", train_accuracy=0.99, val_accuracy=0.80)
    assert Evaluator.flags(result) == ["overfitting: train accuracy 0.990 vs val 0.800 (gap 0.190)"]


def test_flags_divergence_from_curve_and_failure():
    rising = Result(status="ok", val_accuracy=0.5, curve=[CurvePoint(step=s, train_loss=x) for s, x in
                                                          enumerate([2.0, 0.5, 0.4, 1.5])])
    assert any(f.startswith("diverging: final train loss 1.5") for f in Evaluator.flags(rising))
    failed = Result(status="failed", failure="diverged", curve=[CurvePoint(step=1, train_loss=math.nan)])
    assert Evaluator.flags(failed) == ["diverged: training loss became NaN/inf"]


def test_flags_a_too_good_jump():
    parent = Result(status="ok", val_accuracy=0.60)
    child = Result(status="ok", val_accuracy=0.95, train_accuracy=0.96)
    assert Evaluator.flags(child, parent) == ["suspicious jump: val accuracy 0.600 -> 0.950 (+0.350) in one edit"]


def test_a_healthy_result_has_no_flags():
    parent = Result(status="ok", val_accuracy=0.90)
    child = Result(status="ok", val_accuracy=0.92, train_accuracy=0.95,
                   curve=[CurvePoint(step=s, train_loss=x) for s, x in enumerate([2.0, 1.0, 0.5, 0.45])])
    assert Evaluator.flags(child, parent) == []
