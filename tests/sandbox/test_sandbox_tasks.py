"""Tasks and data: MNIST-1D generated locally and cached, strict .npz checks, the seeded validation split."""

from __future__ import annotations

import numpy as np
import pytest

from archlab.sandbox import data
from archlab.sandbox.data import load_splits
from archlab.sandbox.tasks import TaskError, TrainRecipe, load_task, mnist1d_recipe


def test_mnist1d_has_the_published_sizes(mnist1d):
    assert mnist1d.input_shape == (1, 40) and mnist1d.num_classes == 10
    assert mnist1d.sizes == {"train": 3600, "val": 400, "test": 1000}
    assert mnist1d.kind == "train" and len(mnist1d.fingerprint) == 64


@pytest.mark.slow
def test_mnist1d_is_the_published_dataset_split_into_train_val_test(mnist1d, cache_dir):
    from mnist1d.data import get_dataset_args, make_dataset

    assert mnist1d.input_shape == (1, 40) and mnist1d.num_classes == 10
    assert mnist1d.sizes == {"train": 3600, "val": 400, "test": 1000}
    splits = load_splits(mnist1d.data_file, mnist1d.val_fraction, mnist1d.split_seed)
    reference = make_dataset(get_dataset_args())
    np.testing.assert_allclose(splits.x_test[:, 0, :], reference["x_test"].astype(np.float32))
    np.testing.assert_array_equal(splits.y_test, reference["y_test"])
    # train + val together are exactly the published 4,000 training samples
    together = np.concatenate([splits.x_train, splits.x_val])[:, 0, :]
    assert sorted(map(bytes, together)) == sorted(map(bytes, reference["x"].astype(np.float32)))
    # campaigns train with the search recipe: the published one cut to 1500 steps, cosine decay
    assert mnist1d.recipe == TrainRecipe(optimizer="adam", lr=1e-2, batch_size=100, steps=1500,
                                         schedule="cosine", eval_every=150)
    assert mnist1d_recipe() == TrainRecipe(optimizer="adam", lr=1e-2, batch_size=100, steps=6000,
                                           schedule="constant", eval_every=250)


def test_mnist1d_cache_is_reused_not_regenerated(mnist1d, cache_dir, monkeypatch):
    import mnist1d.data as generator

    before = (cache_dir / data.MNIST1D_CACHE_NAME).stat().st_mtime_ns
    monkeypatch.setattr(generator, "make_dataset", lambda *a, **k: pytest.fail("regenerated"))
    again = load_task("mnist1d", cache_dir)
    assert again.fingerprint == mnist1d.fingerprint
    assert (cache_dir / data.MNIST1D_CACHE_NAME).stat().st_mtime_ns == before


def test_failed_cache_write_leaves_nothing_behind(tmp_path, monkeypatch):
    import mnist1d.data as generator

    tiny = {"x": np.zeros((4, 40)), "y": np.arange(4), "x_test": np.zeros((2, 40)), "y_test": np.arange(2)}
    monkeypatch.setattr(generator, "make_dataset", lambda *a, **k: tiny)

    def broken_savez(fh, **arrays):
        fh.write(b"half a file")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(data.np, "savez", broken_savez)
    with pytest.raises(TaskError, match="cannot write the MNIST-1D cache") as err:
        load_task("mnist1d", tmp_path / "cache")
    assert "\n" not in str(err.value)
    assert list((tmp_path / "cache").iterdir()) == []


def test_validation_split_is_seeded_disjoint_and_carved_from_train_only(tmp_path):
    path = _write(tmp_path / "d.npz", n_train=200)
    first = load_splits(path, 0.1, 0)
    second = load_splits(path, 0.1, 0)
    other = load_splits(path, 0.1, 1)
    np.testing.assert_array_equal(first.x_val, second.x_val)
    assert not np.array_equal(first.x_val, other.x_val)
    assert len(first.x_val) == 20 and len(first.x_train) == 180
    train_rows = {bytes(r) for r in first.x_train}
    assert not any(bytes(r) in train_rows for r in first.x_val)
    with np.load(path) as raw:
        np.testing.assert_array_equal(first.x_test, raw["x_test"])


def test_npz_with_its_own_validation_split_uses_it(tmp_path):
    path = _write(tmp_path / "d.npz", n_train=50, with_val=True)
    task = load_task(f"npz:{path}")
    splits = load_splits(task.data_file, task.val_fraction, task.split_seed)
    assert task.sizes == {"train": 50, "val": 10, "test": 20}
    assert len(splits.x_train) == 50 and len(splits.x_val) == 10


@pytest.mark.parametrize("x_shape, input_shape", [((8,), (8,)), ((2, 16), (2, 16)), ((3, 4, 4), (3, 4, 4))])
def test_npz_input_shape_follows_the_array_rank(tmp_path, x_shape, input_shape):
    path = _write(tmp_path / "d.npz", sample_shape=x_shape)
    task = load_task(f"npz:{path}")
    assert task.input_shape == input_shape and task.num_classes == 3 and task.kind == "train"


def _bad(tmp_path, **changes):
    return _write(tmp_path / "bad.npz", **changes)


BAD_INPUTS = {
    "missing file": (lambda p: p / "nope.npz", "no such file"),
    "not an npz": (lambda p: _text(p / "x.npz"), "not a readable .npz"),
    "missing arrays": (lambda p: _bad(p, drop=("y_test",)), "lacks y_test"),
    "shape mismatch": (lambda p: _bad(p, x_test=np.zeros((20, 9), np.float32)), "x_test samples have shape (9,)"),
    "label out of range": (lambda p: _bad(p, y_test=np.full(20, 7)), "y_test has label 7, outside the classes 0..2"),
    "negative label": (lambda p: _bad(p, y_train=np.r_[-1, np.zeros(59, int)]), "label -1"),
    "fractional labels": (lambda p: _bad(p, y_train=np.linspace(0, 2, 60)), "non-integer labels"),
    "label count": (lambda p: _bad(p, y_train=np.zeros(59, int)), "59 labels but x_train has 60"),
    "nan inputs": (lambda p: _bad(p, x_train=np.full((60, 8), np.nan, np.float32)), "NaN"),
    "half a val split": (lambda p: _bad(p, x_val=np.zeros((5, 8), np.float32)), "only one of x_val, y_val"),
    "object arrays": (lambda p: _bad(p, y_train=np.array([None] * 60, dtype=object)), "object arrays"),
    "one class": (lambda p: _bad(p, y_train=np.zeros(60, int), y_test=np.zeros(20, int)), "single class"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_npz_is_refused_with_one_line_naming_the_problem(tmp_path, case):
    make, expected = BAD_INPUTS[case]
    path = make(tmp_path)
    with pytest.raises(TaskError) as err:
        load_task(f"npz:{path}")
    message = str(err.value)
    assert expected in message and "\n" not in message


@pytest.mark.parametrize("name, expected", [("cifar100", "unknown task 'cifar100'"), ("", "empty task name"),
                                            ("npz:", "npz task needs a path")])
def test_bad_task_names_are_one_line_errors(name, expected):
    with pytest.raises(TaskError, match=expected) as err:
        load_task(name)
    assert "\n" not in str(err.value)


def test_recipe_overrides_are_checked():
    recipe = TrainRecipe()
    assert recipe.with_overrides({"steps": 10, "lr": 0.1}).steps == 10
    for bad, where in [({"stpes": 10}, "stpes"), ({"lr": -1}, "lr"), ({"optimizer": "lion"}, "optimizer")]:
        with pytest.raises(TaskError, match=f"bad recipe override {where}") as err:
            recipe.with_overrides(bad)
        assert "\n" not in str(err.value)


def _write(path, n_train=60, sample_shape=(8,), with_val=False, drop=(), **replace):
    rng = np.random.default_rng(0)
    arrays = {
        "x_train": rng.normal(size=(n_train, *sample_shape)).astype(np.float32),
        "y_train": np.arange(n_train) % 3,
        "x_test": rng.normal(size=(20, *sample_shape)).astype(np.float32),
        "y_test": np.arange(20) % 3,
    }
    if with_val:
        arrays.update(x_val=rng.normal(size=(10, *sample_shape)).astype(np.float32), y_val=np.arange(10) % 3)
    arrays.update(replace)
    for key in drop:
        arrays.pop(key)
    np.savez(path, **arrays)
    return path


def _text(path):
    path.write_text("x_train,y_train\n1,2\n")
    return path
