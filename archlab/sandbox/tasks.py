"""Tasks: what a candidate is trained on, and the recipe it is trained with.

A `Task` is a small, JSON-able description (name, input shape, classes, recipe,
where its arrays live). It travels from the campaign process to the sandbox
workers, which load the arrays themselves (see `data.py`), so no tensor ever
crosses a pipe.

Task names:
- ``mnist1d``: MNIST-1D generated locally with the published procedure and
  cached under ``cache_dir`` (nothing is downloaded);
- ``npz:PATH``: the user's own arrays, checked strictly;
- ``table:PATH``: a lookup table (NAS-Bench-201 style), handled by
  `archlab.sandbox.table`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from archlab.sandbox import data


class TaskError(ValueError):
    """A task name or its data is unusable; `str()` is one line naming why."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))


class TrainRecipe(BaseModel):
    """How candidates are trained; `steps` is the full-fidelity budget.

    The MNIST-1D defaults follow the published recipe (Adam, lr 1e-2, batch 100,
    6000 steps; see github.com/greydanus/mnist1d).
    """

    model_config = ConfigDict(extra="forbid")

    optimizer: Literal["adam", "adamw", "sgd"] = "adam"
    lr: float = Field(1e-2, gt=0)
    weight_decay: float = Field(0.0, ge=0)
    momentum: float = Field(0.9, ge=0, lt=1)  # sgd only
    schedule: Literal["constant", "cosine"] = "constant"
    batch_size: int = Field(100, ge=1)
    steps: int = Field(6000, ge=1)
    eval_every: int = Field(250, ge=1)  # learning-curve resolution (validation accuracy)

    def with_overrides(self, overrides: dict) -> "TrainRecipe":
        """This recipe with `overrides` applied; raises TaskError (one line) on a bad key or value."""
        try:
            return TrainRecipe.model_validate({**self.model_dump(), **overrides})
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "recipe"
            raise TaskError(f"bad recipe override {where}: {first['msg']}") from None


class Task(BaseModel):
    """A classification task: the arrays' location, their shape and the training recipe.

    `input_shape` has no batch axis: ``(F,)`` vectors, ``(C, L)`` sequences,
    ``(C, H, W)`` images. `data_file` is an ``.npz`` with ``x_train, y_train,
    x_test, y_test`` (and optionally ``x_val, y_val``); when no validation arrays
    are given, a validation split of `val_fraction` is carved from train with
    `split_seed`, identically in every process.
    """

    model_config = ConfigDict(extra="forbid")

    name: str
    kind: Literal["train", "lookup"] = "train"
    input_shape: tuple[int, ...]
    num_classes: int = Field(ge=2)
    recipe: TrainRecipe = Field(default_factory=TrainRecipe)
    data_file: str | None = None
    fingerprint: str = ""  # sha256 of the data file: results are only comparable on equal data
    val_fraction: float = Field(data.VAL_FRACTION, gt=0, lt=1)
    split_seed: int = 0
    sizes: dict[str, int] = Field(default_factory=dict)  # train/val/test sample counts


def default_cache_dir() -> Path:
    """Where generated datasets are cached when the caller names no folder."""
    return Path(os.environ.get("ARCHLAB_CACHE", Path.home() / ".cache" / "archlab"))


def load_task(name: str, cache_dir: str | Path | None = None) -> Task:
    """Resolve a task name to a checked `Task`; raises `TaskError` (one line) on bad input.

    Nothing is half-written on failure: the MNIST-1D cache is written atomically.
    """
    if not isinstance(name, str) or not name.strip():
        raise TaskError("empty task name: expected mnist1d, npz:PATH or table:PATH")
    name = name.strip()
    if name == "mnist1d":
        root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        try:
            path = data.ensure_mnist1d(root)
        except data.DataError as exc:
            raise TaskError(f"mnist1d: {exc}") from None
        return _array_task(name, path, mnist1d_search_recipe())
    if name.startswith("npz:"):
        path = Path(name[4:]).expanduser()
        if not name[4:]:
            raise TaskError("npz task needs a path: npz:PATH")
        return _array_task(name, path, TrainRecipe())
    if name.startswith("table:"):
        # Lazy import: the lookup task is another room's module and may not exist yet.
        from archlab.sandbox.table import load_table_task

        try:
            return load_table_task(Path(name[6:]).expanduser())
        except TaskError:
            raise
        except (OSError, ValueError) as exc:
            raise TaskError(f"table task {name[6:]}: {exc}") from None
    raise TaskError(f"unknown task {name!r}: expected mnist1d, npz:PATH or table:PATH")


def mnist1d_recipe() -> TrainRecipe:
    """The published MNIST-1D recipe (Adam, lr 1e-2, batch 100, 6000 steps, no weight decay).

    `benchmarks/bench_sandbox.py --baselines` trains with it to reproduce the published figures.
    """
    return TrainRecipe(optimizer="adam", lr=1e-2, weight_decay=0.0, schedule="constant",
                       batch_size=100, steps=6000, eval_every=250)


def mnist1d_search_recipe() -> TrainRecipe:
    """What a campaign trains MNIST-1D candidates with: the published recipe cut to 1500 steps
    with a cosine decay of the learning rate.

    Why (measured on the 2-core box, one thread per worker, campaign split 3,600/400):
    a quarter of the steps costs a quarter of the time (a 5k-param CNN: 24 s instead of
    66-100 s), so a few-minute campaign evaluates about four times as many candidates, and
    the cosine decay recovers most of the accuracy the short run loses (published CNN 87.6%
    test vs 90.5% at 6000 steps; MLP 65.8% vs ~66%), keeping the order of architectures.
    The figures are in the README's benchmark section.
    """
    return mnist1d_recipe().model_copy(update={"steps": 1500, "schedule": "cosine", "eval_every": 150})


def _array_task(name: str, path: Path, recipe: TrainRecipe) -> Task:
    try:
        summary = data.inspect_npz(path)
    except data.DataError as exc:
        raise TaskError(f"task {name}: {exc}") from None
    return Task(
        name=name,
        input_shape=summary.input_shape,
        num_classes=summary.num_classes,
        recipe=recipe,
        data_file=str(path.resolve()),
        fingerprint=summary.sha256,
        sizes=summary.sizes(data.VAL_FRACTION),
    )
