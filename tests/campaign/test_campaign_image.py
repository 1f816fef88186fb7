"""On a 2-D image task a default campaign grows convolutional candidates and its pick beats a
logistic-regression baseline on the same split (slow: real training of small candidates).

The task is the benchmark's own generated one (benchmarks/bench_campaign.py: stroke shapes at
random places with noise), smaller: the claim is that the default search reaches a CNN on
images through the shared macro moves, not a particular accuracy.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from archlab.campaign import CampaignSettings, load_records, run_campaign
from archlab.campaign.workspace import Workspace
from archlab.records import Budget, CampaignSpec, Constraints

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from bench_campaign import logistic_baseline, make_image_task  # noqa: E402

pytestmark = pytest.mark.slow


def test_a_default_campaign_on_images_grows_a_cnn_that_beats_logistic_regression(tmp_path, cache_dir):
    data = make_image_task(tmp_path / "shapes.npz", n_train=1500, n_test=600, seed=7)
    baseline = logistic_baseline(data)
    spec = CampaignSpec(goal="find a small accurate model", task=f"npz:{data}", strategy="agentic", seed=0,
                        seed_archs=["mlp"], constraints=Constraints(max_params=25_000), budget=Budget(max_evals=16))
    settings = CampaignSettings(workers=2, embedder="hashing", lightweight=True, write_report=False,
                                cache_dir=cache_dir, recipe_overrides={"steps": 100, "eval_every": 10},
                                grace_s=0.0)
    summary = run_campaign(spec, tmp_path / "run", settings)
    assert summary.status == "done", summary.error
    records = load_records(Workspace.open(tmp_path / "run"))
    convs = [r for r in records if '"conv' in json.dumps(r["arch"]) and r["result"]["status"] == "ok"]
    assert len(convs) >= 2  # the search grew convolutional candidates
    assert summary.best is not None and summary.best.test_accuracy > baseline + 0.05, (summary.best, baseline)
