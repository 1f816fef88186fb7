"""What the campaign asks of the sandbox: one evaluation, and the limits it runs under."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from archlab.records import Constraints


class Limits(BaseModel):
    """Per-evaluation limits, enforced in the worker and by the executor.

    `memory_mb` is the address space a candidate may add on top of a warm
    worker's own (torch alone maps about 0.6 GB), so the same number means the
    same thing whatever the platform. `time_s` counts from the moment the
    request reaches its worker; past it the worker is killed and replaced.
    """

    model_config = ConfigDict(extra="forbid")

    time_s: float = Field(600.0, gt=0)
    memory_mb: int = Field(4096, ge=64)
    threads: int = Field(1, ge=1)


class Holdout(BaseModel):
    """Score on training samples the candidate is not trained on, and whose labels it never gets.

    The trusted parent moves `size` training samples, drawn with `seed`, out of the
    training split and behind the validation samples: the run trains on the rest
    and its validation accuracy is pooled over the official validation split and
    these samples. It runs in a jail of its own whose data holds neither split's
    labels (a jail serving ordinary requests holds every training label).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    seed: int
    size: int = Field(ge=1)


class EvalRequest(BaseModel):
    """Train and score one candidate tree.

    `fidelity` is the fraction of the task's full step budget (``0`` means
    screen only: zero-cost proxies, no training). `proxies` asks for the
    zero-cost scores as well when training. `recipe_overrides` replace fields of
    the task's `TrainRecipe` (e.g. ``{"steps": 200}``) for this request.
    `constraints`, when given, are checked on the built module before training
    (a tree with mined ops can only be sized here, where its code may run): a
    breach gives a `constraint` failure and nothing is trained.

    `kind="mine"` asks for code mining instead: `source` (a coder's new module)
    is compile-checked and mined into ops in the worker, never in the caller;
    the Result carries them in `mined_ops`, or fails with kind `compile`.

    `weights_path`, when set, asks for the trained weights: the sandbox saves the
    model's `state_dict` as safetensors, the trusted parent checks the file (size,
    header, parameter count) and writes it to this path (the caller's filesystem,
    also for Ray); `Result.weights_file` then names it. The path never enters the jail.

    `holdout`, when set, trains without a seeded part of the training data and
    pools its score with the validation split's (see `Holdout`).
    """

    model_config = ConfigDict(extra="forbid")

    exp_id: str
    arch: dict
    task: str
    fidelity: float = Field(1.0, ge=0.0, le=1.0)
    seed: int = 0
    recipe_overrides: dict = Field(default_factory=dict)
    limits: Limits = Field(default_factory=Limits)
    proxies: bool = False
    constraints: Constraints | None = None
    kind: Literal["train", "mine"] = "train"
    source: str = ""  # module source for kind="mine"
    weights_path: str | None = None  # where to write the checked trained weights (safetensors)
    holdout: Holdout | None = None  # train without these training samples; score on them too
