"""End to end: a model server that answers like the mock but writes hostile modules, against a real campaign.

The mock HTTP server's `hostile` mode answers every module-writing request
with an attack (a shell command, file writes outside the scratch folder, a
forged result of 99.99% with 1 parameter). The campaign must finish, record
each attempt as a failure, tag an honest result as its best, and list the
violations in its report; nothing may appear in the folder the attacks aim at.
"""

from __future__ import annotations

import json

import git
import pytest

from archlab.campaign import CampaignSettings, load_records, run_campaign
from archlab.campaign.modules import load_log, uses_mined
from archlab.campaign.workspace import Workspace
from archlab.records import Budget, CampaignSpec, Constraints

pytestmark = pytest.mark.slow


def test_a_campaign_against_a_hostile_model_finishes_with_an_honest_best(tmp_path, cache_dir, monkeypatch):
    from archlab.llm import FaultConfig, running_mock_server

    target = tmp_path / "target"
    target.mkdir()
    monkeypatch.setenv("OPENAI_API_KEY", "sk-dummy-for-the-local-mock")
    spec = CampaignSpec(goal="find a small accurate model for MNIST-1D", strategy="agentic", seed=0,
                        budget=Budget(max_evals=8), constraints=Constraints(max_params=25_000),
                        seed_archs=["mlp", "mnist1d_cnn"], model="openai/mock")
    with running_mock_server(FaultConfig(hostile=True, hostile_target=str(target))) as server:
        settings = CampaignSettings(workers=2, embedder="hashing", cache_dir=cache_dir, report_every_s=3600,
                                    recipe_overrides={"steps": 30, "eval_every": 10}, eval_time_s=120,
                                    module_every=2, api_base=server.api_base)
        summary = run_campaign(spec, tmp_path / "c", settings)
        assert server.fault_counts.get("hostile", 0) >= 3
    folder = tmp_path / "c"
    assert summary.status == "done"
    assert list(target.iterdir()) == []  # no shell ran, no file was written where the attacks aimed

    log = {o.name: o for o in load_log(folder)}
    for name in ("FastGate1d", "CacheMix1d"):  # the shell and the file writes: caught while being mined
        assert log[name].status == "rejected" and log[name].failure == "sandbox", log[name]
    assert "shell command" in log["FastGate1d"].reason
    assert "outside its scratch folder" in log["CacheMix1d"].reason
    forge = log["ScaleNorm1d"]  # behaves while mined, forges once it trains
    assert forge.status == "mined"
    records = load_records(Workspace(folder))
    forged = [r for r in records if uses_mined(r["arch"]) and "mined.ScaleNorm1d" in json.dumps(r["arch"])]
    assert forged and all(r["result"]["failure"] == "sandbox" for r in forged)
    assert all(r["result"]["val_accuracy"] is None for r in forged)
    assert not any((r["result"]["val_accuracy"] or 0) > 0.99 or r["result"]["params"] == 1 for r in records)

    repo = git.Repo(folder)
    best_commit = repo.tags["best"].commit
    best_id = best_commit.message.split(":")[0]
    best = next(r for r in records if r["id"] == best_id)
    assert best["result"]["status"] == "ok" and best["result"]["params"] > 1
    assert 0 < best["result"]["val_accuracy"] < 0.99 and not uses_mined(best["arch"])
    assert summary.best is not None and summary.best.id == best_id

    report = (folder / "report.md").read_text()
    assert report.count("sandbox") >= 3
    failures = report.split("## Failures", 1)[1].split("## Model calls", 1)[0]
    assert "| sandbox |" in failures
    modules = report.split("### Modules the coder wrote", 1)[1]
    assert "FastGate1d" in modules and "CacheMix1d" in modules and "sandbox" in modules
