"""Holdout requests (issue 17): the child trains without held-out samples and never gets their labels.

The confirmation stage scores candidates on a seeded holdout of the training data
when the validation split is small. The trusted parent draws it; the attack
here is a candidate that reads its jail's data file to look up the label of
every sample it is scored on (it would then score 100% by echoing them).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from archlab.sandbox import Holdout, load_task, make_executor
from archlab.sandbox.data import hold_out, load_splits, save_label_free
from archlab.tools import seeds
from sandbox_helpers import mined, quick_limits, request

# Read the jail's data file without `open` (no audit event: only the jail can stop it), then report what
# it holds: its arrays, their sizes, and how many scored samples have a labelled copy in training.
PEEK_MODULE = "import io\nimport numpy as np"
PEEK = """
size = os.stat('/data/task.npz').st_size
raw = torch.from_file('/data/task.npz', size=size, dtype=torch.uint8).numpy().tobytes()
data = np.load(io.BytesIO(raw))
train = {row.tobytes() for row in data['x_train']}
overlap = sum(row.tobytes() in train for row in data['x_val'])
raise RuntimeError(f"peek keys={sorted(data.files)} ntrain={len(data['y_train'])} nval={len(data['x_val'])} "
                   f"overlap={overlap}")
"""


def test_a_holdout_moves_training_samples_behind_the_validation_split_without_labels(tmp_path, cache_dir):
    task = load_task("mnist1d", cache_dir)
    splits = load_splits(Path(task.data_file), task.val_fraction, task.split_seed)
    held = hold_out(splits, seed=7, size=300)
    assert len(held.y_train) == len(splits.y_train) - 300 and len(held.x_val) == len(splits.x_val) + 300
    assert np.array_equal(held.y_val[: len(splits.y_val)], splits.y_val)  # the official split first, unchanged
    again = hold_out(splits, seed=7, size=300)
    assert np.array_equal(again.x_val, held.x_val)  # seeded: every candidate sees the same holdout
    with np.load(save_label_free(held, tmp_path / "task.npz")) as data:
        assert sorted(data.files) == ["x_test", "x_train", "x_val", "y_train"]
        train = {row.tobytes() for row in data["x_train"]}
        assert not any(row.tobytes() in train for row in data["x_val"][len(splits.x_val):])


@pytest.mark.slow
def test_a_holdout_request_cannot_read_the_labels_it_is_scored_on(cache_dir):
    executor = make_executor("mnist1d", workers=1, cache_dir=cache_dir, device="cpu", notice=None)
    try:
        if not executor.jailed:
            pytest.skip(f"no bubblewrap jail on this machine: {executor.isolation}")
        task = load_task("mnist1d", cache_dir)
        n_train, n_val = int(task.sizes["train"]), int(task.sizes["val"])
        tree = mined(PEEK, module_body=PEEK_MODULE)
        holdout = Holdout(seed=7, size=300)
        peeked = executor.submit(request(tree, exp_id="peek", steps=10, limits=quick_limits(),
                                         holdout=holdout)).result(timeout=300)
        assert peeked.failure == "crashed" and "peek " in peeked.error, peeked.error
        assert (f"peek keys=['x_test', 'x_train', 'x_val', 'y_train'] ntrain={n_train - 300} nval={n_val + 300} "
                "overlap=0") in peeked.error
        # the ordinary jail beside it is untouched: all the training data, the official validation split
        plain = executor.submit(request(tree, exp_id="peek2", steps=10, limits=quick_limits())).result(timeout=300)
        assert f"ntrain={n_train} nval={n_val} overlap=0" in plain.error, plain.error
        honest = executor.submit(request(seeds.mlp(), exp_id="ok", steps=20, holdout=holdout)).result(timeout=300)
        assert honest.ok and honest.val_accuracy is not None, honest.error  # graded in the parent, pooled
    finally:
        executor.close()
