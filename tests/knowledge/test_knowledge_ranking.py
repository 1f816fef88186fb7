"""Top-k by a metadata value is exact, also when only part of the set is read."""

import random

import chromadb
import pytest
from chromadb.config import Settings

from archlab.knowledge import ranking


@pytest.fixture
def collection(tmp_path):
    client = chromadb.PersistentClient(path=str(tmp_path / "idx"), settings=Settings(anonymized_telemetry=False))
    yield client.get_or_create_collection("rows", embedding_function=None)
    client.close()


def fill(collection, values):
    collection.add(
        ids=[f"r{i:04d}" for i in range(len(values))],
        embeddings=[[float(i), 1.0] for i in range(len(values))],
        metadatas=[{"score": v, "created_ts": float(i), "exp_id": f"r{i:04d}", "group": i % 3}
                   for i, v in enumerate(values)],
    )


def brute(values, k, descending, group=None):
    rows = [(v, i) for i, v in enumerate(values) if group is None or i % 3 == group]
    rows.sort(key=lambda row: ((-row[0] if descending else row[0]), row[1]))
    return [f"r{i:04d}" for _, i in rows[:k]]


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("descending", [True, False])
def test_top_rows_matches_a_full_sort(collection, monkeypatch, seed, descending):
    monkeypatch.setattr(ranking, "SAMPLE", 16)  # force the threshold path on a small set
    rng = random.Random(seed)
    values = [rng.choice([rng.random(), 0.5, 0.9]) for _ in range(300)]  # many ties
    fill(collection, values)
    for k in (1, 5, 40, 120):
        got = ranking.top_rows(collection, {"score": {"$gte": -1e30}}, "score", k, descending)
        assert [row["exp_id"] for row in got] == brute(values, k, descending)
    got = ranking.top_rows(collection, {"group": 1}, "score", 7, descending)
    assert [row["exp_id"] for row in got] == brute(values, 7, descending, group=1)


def test_integer_values_and_small_sets(collection):
    fill(collection, [5, 3, 9, 1])
    assert [row["score"] for row in ranking.top_rows(collection, None, "score", 3, True)] == [9, 5, 3]
    assert ranking.top_rows(collection, None, "score", 0, True) == []
