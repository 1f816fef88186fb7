"""Campaigns learn from each other through one shared memory folder."""

from archlab.knowledge import open_memory
from memory_builders import conv_net, mlp, ok, record, write_campaign


def test_second_campaign_retrieves_the_first_campaigns_experiments(tmp_path):
    shared = tmp_path / "shared-memory"
    first = write_campaign(tmp_path / "first", [
        record(1, conv_net(32, 5, blocks=2, residual=True), ok(0.93), campaign="first",
               analysis="residual conv stack reached 93%"),
        record(2, mlp(128), ok(0.58), campaign="first"),
    ], insights=["dilation paid off on long signals"])
    with open_memory(first, memory_dir=shared, embedder="hashing") as memory:
        assert memory.count() == 2

    second = write_campaign(tmp_path / "second", [record(1, mlp(64), ok(0.55), campaign="second")])
    with open_memory(second, memory_dir=shared, embedder="hashing") as memory:
        assert memory.count() == 3  # e0001 of each campaign kept apart
        near = memory.similar(conv_net(32, 5, blocks=2, residual=True), k=1)
        assert (near[0]["campaign"], near[0]["id"]) == ("first", "e0001")
        assert memory.best(1)[0]["campaign"] == "first"
        assert [row["campaign"] for row in memory.best(5, campaign="second")] == ["second"]
        assert memory.insights_for("dilation long signals", 1)[0]["campaign"] == "first"
        assert memory.lookup(record(1, conv_net(32, 5, blocks=2, residual=True), ok(0), campaign="x").arch_hash,
                             1.0).val_accuracy == 0.93
    assert not (second / "index").exists()  # the shared folder was used, not a private one
