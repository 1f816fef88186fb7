"""The offline goal parser behind the mock planner: numbers, units and words."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archlab.llm.mock.goal import parse_goal


@pytest.mark.parametrize("goal, field, value", [
    ("mnist1d under 20k parameters", "max_params", 20000),
    ("mnist1d, at most 25k params", "max_params", 25000),
    ("mnist1d with no more than 25,000 weights", "max_params", 25000),
    ("a 50k-parameter model for mnist1d", "max_params", 50000),
    ("mnist1d < 1M FLOPs", "max_flops", 1_000_000),
    ("mnist1d under 2.5 MFLOPs", "max_flops", 2_500_000),
    ("mnist1d, latency under 2 ms", "max_latency_ms", 2.0),
    ("mnist1d with at most 0.5 ms latency", "max_latency_ms", 0.5),
    ("mnist1d beats 96%", "target", 0.96),
    ("mnist1d, reach at least 97.5% accuracy", "target", 0.975),
    ("mnist1d in 10 minutes", "minutes", 10.0),
    ("mnist1d within 2 hours", "minutes", 120.0),
    ("mnist1d, 50 evaluations", "max_evals", 50),
    ("mnist1d, random search baseline", "strategy", "random"),
    ("mnist1d without a language model", "strategy", "evolution"),
    ("mnist1d minimise the validation loss", "direction", "min"),
    ("MNIST-1D please", "task", "mnist1d"),
    ("learn from ./data/ecg.npz", "task", "npz:./data/ecg.npz"),
    ("use table:/srv/nb201 and find the best cell", "task", "table:/srv/nb201"),
])
def test_goal_phrases(goal, field, value):
    assert parse_goal(goal)[field] == value


def test_silence_is_none_not_a_guess():
    parsed = parse_goal("find something good")
    assert all(parsed[k] is None for k in ("task", "target", "max_params", "max_flops", "max_latency_ms",
                                           "minutes", "max_evals"))


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 999), st.sampled_from([("k", 1_000), ("K", 1_000), ("", 1), ("M", 1_000_000)]),
       st.sampled_from(["under", "at most", "below", "<", "no more than"]),
       st.sampled_from(["parameters", "params", "weights"]))
def test_any_parameter_limit_is_read_exactly(number, scale, words, unit):
    suffix, factor = scale
    assert parse_goal(f"mnist1d {words} {number}{suffix} {unit}")["max_params"] == number * factor
