"""A write-behind memory answers every query as an immediately written one would."""

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archlab.knowledge import Memory
from archlab.knowledge.write_behind import WriteBehindMemory
from memory_builders import conv_net, failed, ok, record

ARCHS = [conv_net(8, 3), conv_net(16, 5), conv_net(32, 3)]
RESULTS = [ok(0.7), ok(0.75), failed("crashed"), failed("compile"), ok(0.6, fidelity=0.25)]


def test_lookup_sees_pending_records_and_queries_flush_first(tmp_path: Path):
    with Memory(path=tmp_path / "index", embedder="hashing") as inner:
        memory = WriteBehindMemory(inner, batch=100)
        trained = record(1, conv_net(16, 5), ok(0.8))
        memory.add(trained)
        assert inner.count() == 0  # nothing written yet
        found = memory.lookup(trained.arch_hash, 1.0)
        assert found is not None and found.cached and found.val_accuracy == 0.8
        assert memory.similar(text="conv1d", k=1)[0]["id"] == "e0001"  # a query flushed the write
        assert inner.count() == 1


def test_a_full_batch_is_written_at_once(tmp_path: Path):
    with Memory(path=tmp_path / "index", embedder="hashing") as inner:
        memory = WriteBehindMemory(inner, batch=3)
        for n in range(1, 4):
            memory.add(record(n, conv_net(8 * n, 3), ok(0.5)))
        assert inner.count() == 3


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(st.tuples(st.integers(0, 2), st.integers(0, 4), st.booleans()), min_size=1, max_size=12))
def test_every_lookup_matches_an_immediately_written_memory(tmp_path_factory, steps):
    """Random adds, with a flush now and then: after each, every lookup gives the same answer."""
    folder = tmp_path_factory.mktemp("wb")
    with Memory(path=folder / "now", embedder="hashing") as now, \
            Memory(path=folder / "later", embedder="hashing") as later_inner:
        later = WriteBehindMemory(later_inner, batch=1000)
        for n, (a, r, flush) in enumerate(steps, start=1):
            rec = record(n, ARCHS[a], RESULTS[r])
            now.add(rec)
            later.add(rec)
            if flush:
                later.flush()
            for arch in ARCHS:
                h = record(0, arch, ok(0)).arch_hash
                for fidelity in (1.0, 0.25):
                    assert later.lookup(h, fidelity) == now.lookup(h, fidelity)
