"""Real campaigns on MNIST-1D: real workers, real backbone, mock agents, tiny budgets.

Slow (each campaign trains a handful of candidates for a few dozen steps), so
marked `slow`; CI still runs them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import git
import pytest
import yaml

from archlab.campaign import CampaignSettings, load_records, resume_campaign, run_campaign
from archlab.campaign.workspace import Workspace
from campaign_fakes import make_spec

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
CAP = 25_000


@pytest.fixture(scope="module")
def real_settings(cache_dir: Path) -> CampaignSettings:
    return CampaignSettings(workers=2, embedder="hashing", cache_dir=cache_dir,
                            report_every_s=3600, recipe_overrides={"steps": 30, "eval_every": 10},
                            eval_time_s=120)


@pytest.fixture(scope="module")
def agentic_reference(tmp_path_factory: pytest.TempPathFactory, real_settings: CampaignSettings) -> Path:
    out = tmp_path_factory.mktemp("ref") / "agentic"
    run_campaign(make_spec("agentic", evals=6, max_params=CAP), out, real_settings)
    return out


def sequence(folder: Path) -> list[tuple[str, str]]:
    return [(r["id"], r["arch_hash"]) for r in load_records(Workspace(folder))]


def assert_complete_and_consistent(folder: Path) -> list[dict]:
    """Every experiment whole, ids contiguous, one commit each, nothing half-written."""
    ws = Workspace(folder)
    records = load_records(ws)
    ids = [r["id"] for r in records]
    assert ids == [f"e{n:04d}" for n in range(1, len(ids) + 1)]
    for exp in ids:
        for name in ("record.json", "arch.json", "model.py"):
            assert (ws.experiment_dir(exp) / name).is_file()
    assert not list((folder / "experiments").glob(".tmp-*"))
    repo = git.Repo(folder)
    per_exp = sorted(c.message.split(":")[0] for c in repo.iter_commits() if c.message.startswith("e0"))
    assert per_exp == ids
    assert not repo.is_dirty(untracked_files=True)
    return records


def assert_cap_respected(records: list[dict]) -> None:
    trained = [r["result"] for r in records if r["result"]["failure"] not in ("constraint", "invalid")]
    assert trained
    assert all(r["params"] is None or r["params"] <= CAP for r in trained if r["status"] == "ok")


@pytest.mark.parametrize("strategy", ["random", "evolution"])
def test_baseline_strategies_run_end_to_end(strategy, tmp_path, real_settings):
    summary = run_campaign(make_spec(strategy, evals=5, max_params=CAP), tmp_path / strategy, real_settings)
    assert summary.status == "done" and summary.evaluated == 5
    assert summary.best is not None and 0.0 < summary.best.val_accuracy <= 1.0
    assert summary.llm.calls == 0  # no language model in the baselines
    assert Path(summary.report_html).is_file() and Path(summary.report_md).is_file()
    assert_cap_respected(assert_complete_and_consistent(tmp_path / strategy))


def test_agentic_runs_end_to_end_with_the_model(agentic_reference):
    records = assert_complete_and_consistent(agentic_reference)
    assert_cap_respected(records)
    assert any(r["analysis"] for r in records)
    assert (agentic_reference / "llm" / "cassette.jsonl").stat().st_size > 0
    assert "best" in git.Repo(agentic_reference).tags


def test_same_spec_and_seed_give_the_same_candidates(agentic_reference, tmp_path, real_settings):
    run_campaign(make_spec("agentic", evals=6, max_params=CAP), tmp_path / "again", real_settings)
    assert sequence(tmp_path / "again") == sequence(agentic_reference)


def test_kill_9_mid_run_then_resume_gives_the_same_complete_campaign(agentic_reference, tmp_path, real_settings):
    out = tmp_path / "killed"
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({
        "out": str(out), "max_evals": 6, "max_params": CAP, "workers": 2, "embedder": "hashing",
        "recipe": {"steps": 30, "eval_every": 10}, "budget_minutes": 30, "seed": 0, "strategy": "agentic"}))
    env = {**os.environ, "ARCHLAB_CACHE": str(real_settings.cache_dir)}
    command = [sys.executable, "-m", "archlab", "run", "find a small accurate model for MNIST-1D",
               "--config", str(config)]
    proc = subprocess.Popen(command, cwd=REPO, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 400
        while time.monotonic() < deadline and proc.poll() is None:
            if len(Workspace(out).finished_ids()) >= 3:
                break
            time.sleep(0.2)
        assert proc.poll() is None, "the run ended before it could be killed"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the CLI and its worker processes, nothing else
        proc.wait()
    assert Workspace(out).load_state().status == "running"  # it never got to say goodbye
    summary = resume_campaign(out, real_settings)
    assert summary.status == "done" and summary.evaluated == 6
    records = assert_complete_and_consistent(out)
    assert [(r["id"], r["arch_hash"]) for r in records] == sequence(agentic_reference)
    assert Workspace(out).load_state().sessions == 2
