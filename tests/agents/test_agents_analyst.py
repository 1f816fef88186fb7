"""The analyst: factual analyses from the numbers, and distilled insights."""

from agents_helpers import ScriptedClient

from archlab.agents import Analyst
from archlab.llm import LLMClient
from archlab.records import Result


def record(exp, val, params, parents=(), edit=None, status="ok", failure=None):
    result = Result(status=status, failure=failure, val_accuracy=val, params=params, latency_ms=0.2)
    return {"id": exp, "parent_ids": list(parents), "edit": edit, "result": result.model_dump(mode="json")}


RESIDUAL = {"kind": "wrap_residual", "path": "root.2", "fixed": {}}
POOL = {"kind": "insert", "path": "root.1", "fixed": {"op": "pool", "mode": "max"}}


def test_analysis_states_the_change_in_metric_and_cost():
    analyst = Analyst(LLMClient("mock"))
    parent = record("e0001", 0.8812, 5000)
    child = record("e0002", 0.9034, 6000, ["e0001"], RESIDUAL)
    analysis = analyst.analyze(child, parent, [])
    assert analysis.verdict == "improved" and analysis.source == "model"
    assert "0.8812 -> 0.9034 (+0.0222)" in analysis.text and "5000 -> 6000 (+20%)" in analysis.text
    assert analysis.insights == ["wrap_residual (wrap_residual at root.2) raised val accuracy by +0.0222 at +20% params"]


def test_analysis_says_when_it_contradicts_an_earlier_insight():
    analyst = Analyst(LLMClient("mock"))
    parent = record("e0001", 0.90, 5000)
    child = record("e0003", 0.85, 5200, ["e0001"], RESIDUAL)
    earlier = [{"text": "wrap_residual (wrap_residual at root.1) raised val accuracy by +0.0300"}]
    analysis = analyst.analyze(child, parent, earlier)
    assert analysis.verdict == "worse" and "contradicts earlier insight" in analysis.text


def test_a_failed_experiment_is_reported_as_failed():
    analysis = Analyst(LLMClient("mock")).analyze(record("e0004", None, None, ["e0001"], POOL, "failed", "timeout"))
    assert analysis.verdict == "failed" and "timeout" in analysis.text


def test_fallback_analysis_is_the_numbers_in_one_line():
    client = ScriptedClient(["...", "..."])
    analysis = Analyst(client).analyze(record("e0002", 0.9, 6000, ["e0001"], POOL), record("e0001", 0.88, 5000))
    assert analysis.source == "fallback"
    assert analysis.text.startswith("e0002 (insert at root.1 mode=max op=pool): val accuracy 0.9 vs parent 0.88")
    assert "\n" not in analysis.text


def test_summary_distils_per_kind_statistics_and_the_best():
    records = [record("e0001", 0.80, 5000), record("e0002", 0.85, 6000, ["e0001"], RESIDUAL),
               record("e0003", 0.86, 6500, ["e0002"], RESIDUAL), record("e0004", 0.70, 5000, ["e0001"], POOL),
               record("e0005", None, None, ["e0001"], POOL, "failed", "diverged")]
    insights = Analyst(LLMClient("mock")).summarize(records)
    assert insights[0] == "wrap_residual: 2 tries, 2 raised val accuracy, mean change +0.0300"
    assert "insert: 1 failed evaluation(s)" in insights
    assert insights[-1] == "best: e0003 at val accuracy 0.8600 with 6500 params"


def test_summary_fallback_keeps_earlier_insights():
    client = ScriptedClient(["no", "no"])
    assert Analyst(client).summarize([], ["a", "b", "a"]) == ["a", "b"]


def test_a_seed_is_described_without_a_parent_comparison():
    analysis = Analyst(LLMClient("mock")).analyze(record("e0001", 0.91, 5210))
    assert analysis.text == "e0001 is a seed architecture (no edit); val accuracy 0.9100 (no parent to compare); params 5210."
