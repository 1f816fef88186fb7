"""Store, query and filter: what the agents ask the memory, and what comes back."""

import pytest

from archlab.knowledge import KnowledgeError, Memory
from memory_builders import conv_net, failed, mlp, ok, record

PROMPT_KEYS = {"id", "campaign", "arch", "edit", "val_accuracy", "params", "status"}


def ids(rows):
    return [row["id"] for row in rows]


def test_similar_by_structure_finds_the_nearest_tree_first(memory, population):
    memory.add_many(population)
    rows = memory.similar(conv_net(32, 5, blocks=3, residual=True), k=3, params=31000)
    assert rows[0]["id"] == "e0004"
    assert rows[0]["distance"] <= rows[1]["distance"] <= rows[2]["distance"]
    assert PROMPT_KEYS <= set(rows[0]) and "\n" not in rows[0]["arch"]


def test_similar_by_structure_without_known_size(memory, population):
    memory.add_many(population)
    rows = memory.similar(mlp(256, 4), k=2)  # params unknown: compared on shape only
    assert rows[0]["id"] == "e0007" and rows[1]["id"] == "e0001"


def test_similar_by_text_reads_tree_edit_and_outcome(memory, population):
    memory.add_many(population)
    assert memory.similar(text="residual conv1d channels 32", k=1)[0]["id"] == "e0004"
    assert memory.similar(text="failed compile conv kernel 99", k=1)[0]["id"] == "e0006"


def test_analysis_is_not_embedded_so_a_rebuilt_index_matches_the_live_one(memory, population):
    plain = population[3].model_copy(update={"analysis": "", "insights": []})
    memory.add(plain)
    before = memory.similar(text="residual blocks deeper stack", k=1)
    memory.add(population[3])  # the same record with its analysis, as reindex reads it
    assert memory.similar(text="residual blocks deeper stack", k=1) == before


def test_similar_excludes_the_candidate_itself(memory, population):
    memory.add_many(population)
    rows = memory.similar(population[2], text="wider convolution", k=3, exclude=[population[2].key])
    assert "e0003" not in ids(rows) and len(rows) == 3


def test_filters_by_campaign_status_and_metric_range(memory, population):
    memory.add_many(population + [record(1, conv_net(32, 5), ok(0.99), campaign="beta")])
    assert set(ids(memory.similar(conv_net(32, 5), k=20, campaign="beta"))) == {"e0001"}
    assert set(ids(memory.similar(conv_net(32, 5), k=20, status="failed"))) == {"e0005", "e0006"}
    good = memory.similar(conv_net(32, 5), k=20, where={"val_accuracy": {"$gte": 0.8}})
    assert set(ids(good)) == {"e0001", "e0002", "e0003", "e0004"}
    assert all(row["val_accuracy"] >= 0.8 for row in good)


def test_best_and_worst_of_a_family(memory, population):
    memory.add_many(population)
    assert ids(memory.best(2)) == ["e0004", "e0003"]
    assert ids(memory.best(1, family="mlp")) == ["e0007"]
    assert ids(memory.worst(2, family="conv")) == ["e0008", "e0002"]
    assert ids(memory.best(1, metric="params")) == ["e0008"]  # fewest parameters
    with pytest.raises(KnowledgeError, match="unknown metric"):
        memory.best(1, metric="accuracy_percent")


def test_failures_to_avoid(memory, population):
    memory.add_many(population)
    latest = memory.failures(5)
    assert ids(latest) == ["e0006", "e0005"]
    assert latest[0]["failure"] == "compile" and latest[0]["error"] == "conv kernel 99 > length 40"
    assert memory.failures(1, arch=conv_net(64, 9, blocks=3))[0]["id"] == "e0005"


def test_adding_again_updates_instead_of_duplicating(memory, population):
    memory.add_many(population)
    memory.add(record(2, conv_net(16, 5), ok(0.83, params=4000)))
    assert memory.count() == 8 and memory.count("alpha") == 8
    assert [row["val_accuracy"] for row in memory.best(8) if row["id"] == "e0002"] == [0.83]


def test_insights_relevant_to_a_direction(memory):
    memory.add_insight("dilated convolutions widen the receptive field cheaply", "alpha", {"experiments": ["e0003"]})
    memory.add_insight("dropout slowed convergence without helping", "alpha")
    memory.add_insight("dropout slowed convergence without helping", "alpha")  # stored once
    rows = memory.insights_for("receptive field dilated", k=2)
    assert len(rows) == 2 and rows[0]["text"].startswith("dilated") and rows[0]["experiments"] == "e0003"


def test_principles_relevant_to_a_goal(memory):
    rows = memory.principles_for("dilation to widen the receptive field on a long signal", k=3)
    assert rows[0]["name"] == "dilation"
    assert any("set_param" in edit for edit in rows[0]["edits"])
    names = [row["name"] for row in memory.principles_for("depthwise separable convolution to cut parameters", 1)]
    assert names == ["depthwise-separable"]


def test_lookup_reuses_a_result_at_the_same_fidelity(memory, population):
    memory.add_many(population)
    trained = population[3]
    again = memory.lookup(trained.arch_hash, 1.0)
    assert again is not None and again.cached and again.val_accuracy == 0.91
    assert memory.lookup(trained.arch_hash, 0.25) is None  # other fidelity: train
    assert memory.lookup(trained.arch_hash, 1.0, task="npz:other.npz") is None  # other task: train
    assert memory.lookup("no-such-hash", 1.0) is None


def test_lookup_reuses_structural_failures_but_retries_transient_ones(memory, population):
    memory.add_many(population)
    assert memory.lookup(population[5].arch_hash, 1.0).failure == "compile"
    assert memory.lookup(population[4].arch_hash, 1.0) is None  # a timeout may pass next time
    over_budget = record(9, conv_net(128, 9), failed("constraint", "params 900000 > max 20000"))
    memory.add(over_budget)
    assert memory.lookup(over_budget.arch_hash, 1.0) is None  # another campaign may allow it


def test_lookup_prefers_a_success_and_then_the_oldest(memory):
    arch = conv_net(8, 3)
    memory.add_many([record(1, arch, failed("crashed")), record(2, arch, ok(0.7)), record(3, arch, ok(0.75))])
    assert memory.lookup(record(9, arch, ok(0)).arch_hash, 1.0).val_accuracy == 0.7


def test_bad_queries_fail_in_one_line(memory, population, tmp_path):
    memory.add_many(population)
    with pytest.raises(KnowledgeError, match="needs an arch, a text"):
        memory.similar()
    with pytest.raises(KnowledgeError) as caught:
        memory.similar(text="x", where={"val_accuracy": {"$near": 1}})
    assert "\n" not in str(caught.value)
    with pytest.raises(KnowledgeError, match="exactly one of path"):
        Memory(embedder="hashing")
    (tmp_path / "a-file").write_text("not an index")
    with pytest.raises(KnowledgeError, match="is a file, not a folder"):
        Memory(path=tmp_path / "a-file", embedder="hashing")
    with pytest.raises(KnowledgeError, match="unknown embedder 'bert'"):
        Memory(path=".", embedder="bert")
    with pytest.raises(KnowledgeError, match="must be a scalar"):
        memory.add_insight("x", "alpha", {"nested": {"a": 1}})


def test_empty_memory_answers_with_nothing(memory):
    assert memory.similar(conv_net(), "anything", k=3) == []
    assert memory.best(3) == [] and memory.failures(3) == [] and memory.insights_for("x") == []
    assert memory.lookup("h", 1.0) is None


def test_real_arch_objects_from_tools(memory):
    from archlab import tools

    rng = __import__("random").Random(1)
    seed = tools.seeds.mnist1d_cnn()
    edit = next(e for e in tools.legal_edits(seed, (1, 40)) if e.kind == "wrap_residual").sample(rng)
    child = tools.apply(seed, edit)
    rows = [record(1, seed.model_dump(mode="json"), ok(0.7), arch_hash=tools.arch_hash(seed)),
            record(2, child.model_dump(mode="json"), ok(0.8), arch_hash=tools.arch_hash(child),
                   edit=edit.model_dump(mode="json"), parent_ids=["e0001"]),
            record(3, tools.seeds.mlp().model_dump(mode="json"), ok(0.5), arch_hash=tools.arch_hash(tools.seeds.mlp()))]
    memory.add_many(rows)
    near = memory.similar(child, k=2)  # an Arch object, not JSON
    assert [row["id"] for row in near] == ["e0002", "e0001"]
    assert near[0]["edit"] == edit.describe()
    assert memory.lookup(tools.arch_hash(tools.apply(seed, edit)), 1.0).val_accuracy == 0.8


def test_principles_are_filtered_by_the_inputs_tensor_kind(memory):
    goal = "a convolutional front to beat the mlp on signals and images"
    for kind in ("seq", "image"):
        rows = memory.principles_for(goal, k=3, tensor_kind=kind)
        assert rows[0]["name"] == "conv-front" and all(not r["applies_to"] or kind in r["applies_to"] for r in rows)
    vector = memory.principles_for(goal, k=3, tensor_kind="vector")
    assert vector and "conv-front" not in [r["name"] for r in vector]  # no convolution over feature columns
    assert all(not r["applies_to"] or "vector" in r["applies_to"] for r in vector)
