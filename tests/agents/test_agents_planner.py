"""The planner: a goal becomes a CampaignSpec; each generation gets a direction."""

import pytest
from agents_helpers import ScriptedClient

from archlab.agents import Direction, Evidence, PlanError, Planner, SearchSummary
from archlab.llm import LLMClient


@pytest.fixture
def planner():
    return Planner(LLMClient("mock"))


@pytest.mark.parametrize("goal, expected", [
    ("a 1-D CNN for MNIST-1D, at most 20k parameters, beat 96% accuracy",
     {"task": "mnist1d", "max_params": 20000, "target": 0.96, "seed_archs": ["mnist1d_cnn"]}),
    ("find a small accurate model for MNIST-1D under 20k parameters",
     {"task": "mnist1d", "max_params": 20000, "target": None, "strategy": "agentic"}),
    ("mnist1d with < 1M FLOPs and latency under 2 ms, 50 evaluations",
     {"max_flops": 1_000_000, "max_latency_ms": 2.0, "max_evals": 50}),
    ("classify npz:data/ecg.npz at most 25k params in 10 minutes",
     {"task": "npz:data/ecg.npz", "max_params": 25000, "minutes": 10.0}),
    ("search table:/data/nb201 with random search, 200 evaluations",
     {"task": "table:/data/nb201", "strategy": "random", "max_evals": 200, "seed_archs": ["nb201"]}),
    ("evolutionary search for an MLP on mnist1d, 1.5 million parameters max, beats 90%",
     {"strategy": "evolution", "max_params": 1_500_000, "target": 0.9, "seed_archs": ["mlp"]}),
])
def test_goal_numbers_tasks_and_words_are_read(planner, goal, expected):
    spec = planner.plan(goal)
    flat = {**spec.model_dump(), **spec.constraints.model_dump(), **spec.budget.model_dump()}
    assert {k: flat[k] for k in expected} == expected
    assert spec.goal == goal and spec.model == "mock"


def test_planned_seeds_fit_the_task_whatever_the_model_said():
    """A table answers only for its cells; a cell needs the table's image input."""
    said_mlp = ScriptedClient(['{"task": "table:/data/nb201", "seed_archs": ["mlp"]}'])
    assert Planner(said_mlp).plan("search the table").seed_archs == ["nb201"]
    said_cell = ScriptedClient(['{"task": "mnist1d", "seed_archs": ["nb201", "mlp"]}'])
    assert Planner(said_cell).plan("mnist1d").seed_archs == ["mlp"]
    said_nothing = ScriptedClient(['{"task": "table:/data/nb201"}'])
    assert Planner(said_nothing).plan("search the table").seed_archs == ["nb201"]


def test_a_goal_without_task_or_data_is_one_line_error(planner):
    with pytest.raises(PlanError) as info:
        planner.plan("find me a great image classifier")
    assert "names no known task" in str(info.value) and "\n" not in str(info.value)


def test_overrides_win_and_bad_ones_are_refused(planner):
    spec = planner.plan("mnist1d under 20k parameters", {"max_params": 5000, "max_evals": 7, "seed": 3,
                                                          "task": None})
    assert (spec.constraints.max_params, spec.budget.max_evals, spec.seed, spec.task) == (5000, 7, 3, "mnist1d")
    spec = planner.plan("find a model", {"task": "mnist1d", "budget": {"minutes": 2}})
    assert spec.task == "mnist1d" and spec.budget.minutes == 2
    with pytest.raises(PlanError, match="unknown plan override"):
        planner.plan("mnist1d", {"colour": "blue"})
    with pytest.raises(PlanError, match="budget must be positive"):
        planner.plan("mnist1d", {"max_evals": 0})
    with pytest.raises(PlanError, match="unknown task 'imagenet'"):
        planner.plan("mnist1d", {"task": "imagenet"})
    with pytest.raises(PlanError, match="goal is empty"):
        planner.plan("   ")


def test_unusable_model_answers_fall_back_to_the_offline_parser():
    client = ScriptedClient(["I think mnist1d", '{"task": "mnist1d", "target": 7000}'])
    spec = Planner(client).plan("mnist1d at most 10k params")
    assert spec.constraints.max_params == 10000
    assert "offline goal parser" in spec.notes[0]
    usage = client.usage.agents["planner"]
    assert (usage.reasks, usage.rejected, usage.fallbacks) == (1, 2, 1)


def test_a_real_model_answer_is_used_as_given():
    answer = ('{"task": "mnist1d", "target": 97, "max_params": 30000, "strategy": "agentic",'
              ' "seed_archs": ["mlp", "resnet"], "notes": ["read by a model"]}')
    spec = Planner(ScriptedClient([answer])).plan("whatever the person wrote about mnist1d")
    assert (spec.target, spec.constraints.max_params, spec.seed_archs) == (0.97, 30000, ["mlp"])


def test_direction_favours_what_worked_and_avoids_what_hurt(planner):
    rows = [Evidence(kind="wrap_residual", parent_val_accuracy=0.80, child_val_accuracy=0.86),
            Evidence(kind="wrap_residual", parent_val_accuracy=0.82, child_val_accuracy=0.85),
            Evidence(kind="remove", parent_val_accuracy=0.85, child_val_accuracy=0.70),
            Evidence(kind="remove", parent_val_accuracy=0.85, child_val_accuracy=0.75)]
    summary = SearchSummary.from_evidence(rows, generation=2)
    direction = planner.direction(summary, [{"text": "dilation widens the receptive field cheaply"}])
    assert isinstance(direction, Direction) and direction.source == "model"
    assert direction.favour_kinds[0] == "wrap_residual" and "remove" in direction.avoid_kinds
    assert "dilation" in direction.favour_ops


def test_direction_reads_the_campaign_summary_dict(planner):
    summary = {"goal": "g", "evaluated": 3, "failed": 1, "best": {"id": "e0002", "val_accuracy": 0.9, "params": 900},
               "recent": [{"id": "e0001", "edit": "insert at root.1 op=conv", "val_accuracy": 0.8, "status": "ok"},
                          {"id": "e0002", "edit": "set_param at root.0 kernel=5", "val_accuracy": 0.9, "status": "ok"}]}
    direction = planner.direction(summary, [])
    assert "set_param" in direction.favour_kinds and "0.9000" in direction.text


def test_direction_falls_back_to_no_preference():
    client = ScriptedClient(['{"favour_kinds": ["teleport"], "text": "go"}', "nope"])
    direction = Planner(client).direction(SearchSummary(), [])
    assert direction.source == "fallback" and direction.favour_kinds == []
    assert client.usage.agents["planner"].fallbacks == 1


def test_a_very_long_goal_is_cut_at_a_word_with_a_note(planner):
    from archlab.agents.planner import MAX_GOAL_CHARS

    goal = "a 1-D CNN for mnist1d under 20k parameters, beat 96% accuracy. " + "Also consider this detail. " * 400
    spec = planner.plan(goal)
    assert len(spec.goal) <= MAX_GOAL_CHARS and goal.startswith(spec.goal) and goal[len(spec.goal)] == " "
    assert spec.notes[0] == f"goal cut from {len(goal.strip()):,} to {len(spec.goal):,} characters (the limit is 2,000)"
    assert spec.task == "mnist1d" and spec.constraints.max_params == 20000  # what the kept part says still counts
    assert planner.client.usage.agents["planner"].last_prompt_tokens < 1200
