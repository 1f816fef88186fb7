"""The trainer (seeded, deterministic, divergence detection, learning curve, label-free) and the proxies."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from torch import nn

from archlab.sandbox import proxies
from archlab.sandbox.data import load_splits
from archlab.sandbox.grading import accuracy
from archlab.sandbox.tasks import TrainRecipe
from archlab.sandbox.trainer import DeviceData, train
from archlab.tools import ArchError, build, seeds


@pytest.fixture(scope="module")
def splits(mnist1d):
    return load_splits(mnist1d.data_file, mnist1d.val_fraction, mnist1d.split_seed)


@pytest.fixture(scope="module")
def data(splits):
    return DeviceData.from_arrays(dataclasses.asdict(splits), "cpu")


def test_the_trainer_never_holds_validation_or_test_labels(data):
    assert {f.name for f in dataclasses.fields(data)} == {"x_train", "y_train", "x_val", "x_test"}


def _cnn(seed, task):
    torch.manual_seed(seed)
    return build(seeds.mnist1d_cnn(), task.input_shape, task.num_classes)


def test_same_seed_gives_identical_training(data, mnist1d):
    recipe = TrainRecipe(steps=40, eval_every=20)
    first = train(_cnn(0, mnist1d), data, recipe, 40, seed=0)
    second = train(_cnn(0, mnist1d), data, recipe, 40, seed=0)
    other = train(_cnn(1, mnist1d), data, recipe, 40, seed=1)
    assert [p.train_loss for p in first.curve] == [p.train_loss for p in second.curve]
    assert np.array_equal(first.val_logits, second.val_logits) and np.array_equal(first.test_logits, second.test_logits)
    assert [p.train_loss for p in other.curve] != [p.train_loss for p in first.curve]


def test_training_learns_and_predicts_a_curve(data, splits, mnist1d):
    recipe = TrainRecipe(steps=150, eval_every=50)
    out = train(_cnn(0, mnist1d), data, recipe, 150, seed=0)
    assert not out.diverged and out.steps == 150
    assert [p.step for p in out.curve] == [50, 100, 150]
    assert out.curve[-1].train_loss < out.curve[0].train_loss
    assert out.val_logits.shape == (len(splits.y_val), 10) and out.test_logits.shape == (len(splits.y_test), 10)
    assert np.array_equal(out.curve[-1].val_pred, out.val_logits.argmax(axis=1))
    assert accuracy(out.val_logits.argmax(axis=1), splits.y_val) > 0.3  # chance is 0.1; graded outside the trainer
    assert out.probe_pred.shape == (1000,) and out.train_s > 0


def test_nan_loss_stops_training_as_diverged(data, mnist1d):
    class Poisoned(nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(40, 10)

        def forward(self, x):
            out = self.linear(x.flatten(1))
            return out * float("nan") if self.training else out

    out = train(Poisoned(), data, TrainRecipe(steps=50), 50, seed=0)
    assert out.diverged and out.steps == 0 and out.val_logits is None


def test_exploding_learning_rate_is_detected_before_the_budget_ends(data, mnist1d):
    recipe = TrainRecipe(optimizer="sgd", lr=1e12, momentum=0.0, steps=200, eval_every=50)
    out = train(_cnn(0, mnist1d), data, recipe, 200, seed=0)
    assert out.diverged and out.steps < 200


def test_cosine_schedule_anneals_to_zero(data, mnist1d):
    from archlab.sandbox.trainer import make_optimizer, make_schedule

    model = _cnn(0, mnist1d)
    opt = make_optimizer(model, TrainRecipe(schedule="cosine", lr=0.1))
    sched = make_schedule(opt, TrainRecipe(schedule="cosine", lr=0.1), steps=10)
    lrs = []
    for _ in range(10):
        opt.step()
        sched.step()
        lrs.append(opt.param_groups[0]["lr"])
    assert lrs == sorted(lrs, reverse=True) and lrs[-1] == pytest.approx(0.0, abs=1e-12)


def test_proxies_score_an_untrained_tree_deterministically(mnist1d):
    first = proxies.score(seeds.mnist1d_cnn(), mnist1d, seed=0)
    again = proxies.score(seeds.mnist1d_cnn().model_dump(mode="json"), mnist1d, seed=0)
    assert set(first) == {"synflow", "naswot", "grad_norm", "proxy_s"}
    assert {k: v for k, v in first.items() if k != "proxy_s"} == {k: v for k, v in again.items() if k != "proxy_s"}
    assert first["proxy_s"] > 0


def test_proxies_rank_a_wider_network_above_a_narrow_one(mnist1d):
    wide = proxies.score(seeds.mnist1d_cnn(channels=64), mnist1d, seed=0)
    narrow = proxies.score(seeds.mnist1d_cnn(channels=4), mnist1d, seed=0)
    assert wide["synflow"] > narrow["synflow"]
    assert wide["naswot"] > narrow["naswot"]


def test_proxies_refuse_candidate_code_outside_the_sandbox(mnist1d):
    from sandbox_helpers import mined

    with pytest.raises(ArchError, match="allow_code"):
        proxies.score(mined("pass"), mnist1d, seed=0)
