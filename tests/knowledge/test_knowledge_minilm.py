"""The default embedder: MiniLM from the installed package, with no network."""

import os

import numpy as np
import pytest

from archlab.knowledge import Memory, MiniLMEmbedder

pytestmark = pytest.mark.slow  # loading the model takes several seconds


@pytest.fixture(scope="module")
def minilm():
    return MiniLMEmbedder()


def test_minilm_loads_offline_and_embeds_meaning(minilm):
    rows = minilm.embed([
        "add a residual connection around the convolution block",
        "wrap the conv layers in a skip connection",
        "the learning rate schedule uses cosine decay",
    ])
    assert rows.shape == (3, 384) and np.allclose(np.linalg.norm(rows, axis=1), 1, atol=1e-4)
    assert rows[0] @ rows[1] > rows[0] @ rows[2] + 0.1
    assert os.environ.get("HF_HUB_OFFLINE") == "1"
    assert MiniLMEmbedder.model_dir().endswith("model")


def test_memory_with_minilm_finds_principles_by_meaning(tmp_path, minilm):
    with Memory(path=tmp_path / "index", embedder=minilm) as memory:
        rows = memory.principles_for("reduce the parameter count to fit a small budget", 2)
        assert "depthwise-separable" in [row["name"] for row in rows]
        assert memory.principles_for("validation accuracy lags training accuracy", 1)[0]["name"] == "regularization"
        assert memory.principles_for("gradients vanish as I stack more layers", 1)[0]["name"] == "residual-connections"

