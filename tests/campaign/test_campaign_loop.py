"""The orchestrator's own guarantees, with a jittery fake executor and a greedy fake backbone.

Real rooms elsewhere (tools, memory, mock agents, git); only training and the
backbone are faked, so these run in seconds and timing can be scrambled at will.
"""

from __future__ import annotations

from pathlib import Path

import git
import pytest

from archlab.campaign import load_records, resume_campaign, run_campaign
from archlab.campaign.workspace import Workspace
import campaign_fakes as fakes
from campaign_fakes import make_spec


def decisions(folder: Path) -> list[tuple[str, str, str]]:
    return [(r["id"], r["arch_hash"], str(r.get("edit"))) for r in load_records(Workspace(folder))]


def test_thread_timing_never_changes_decisions(tmp_path, settings, monkeypatch):
    spec = make_spec(evals=12)
    runs = []
    for jitter in (1, 2):
        wiring = fakes.wiring(jitter_seed=jitter)
        run_campaign(spec, tmp_path / f"run{jitter}", settings, wiring=wiring)
        runs.append(decisions(tmp_path / f"run{jitter}"))
    assert len(runs[0]) >= 12
    assert runs[0] == runs[1]
    wiring = fakes.wiring(jitter_seed=1)
    run_campaign(make_spec(evals=12, seed=5), tmp_path / "other-seed", settings, wiring=wiring)
    assert decisions(tmp_path / "other-seed") != runs[0]  # the seed does matter


def test_lightweight_mode_decides_exactly_the_same(tmp_path, settings, monkeypatch):
    wiring = fakes.wiring(jitter_seed=3)
    spec = make_spec(evals=10)
    run_campaign(spec, tmp_path / "full", settings, wiring=wiring)
    run_campaign(spec, tmp_path / "light", settings.model_copy(update={"lightweight": True}), wiring=wiring)
    assert decisions(tmp_path / "full") == decisions(tmp_path / "light")
    light = load_records(Workspace(tmp_path / "light"))
    assert all(r["analysis"] == "" for r in light)
    assert len(list(git.Repo(tmp_path / "light").iter_commits())) == 2  # start + finish only


def test_git_has_one_commit_per_experiment_and_tags_the_best(tmp_path, settings, monkeypatch):
    wiring = fakes.wiring(jitter_seed=4)
    summary = run_campaign(make_spec(evals=8), tmp_path / "c", settings, wiring=wiring)
    repo = git.Repo(tmp_path / "c")
    messages = [c.message for c in repo.iter_commits()]
    records = load_records(Workspace(tmp_path / "c"))
    per_exp = [m for m in messages if m.startswith("e0")]
    assert sorted(m.split(":")[0] for m in per_exp) == [r["id"] for r in records]
    # the best by validation, a full-fidelity result outranking a shorter one (like with like)
    best = max((r for r in records if r["result"]["status"] == "ok"),
               key=lambda r: (r["result"]["fidelity"] >= 1.0, r["result"]["val_accuracy"]))
    assert summary.best is not None and summary.best.id == best["id"]
    tagged = repo.tags["best"].commit
    assert f"experiments/{best['id']}/record.json" in [d.b_path for d in tagged.diff(tagged.parents[0])]
    assert not repo.is_dirty(untracked_files=True)


def test_interrupted_campaign_resumes_to_the_same_history(tmp_path, settings, monkeypatch):
    spec = make_spec(evals=12)
    wiring = fakes.wiring(jitter_seed=5)
    run_campaign(spec, tmp_path / "straight", settings, wiring=wiring)

    def stop_at_six(event):
        if event.done == 6:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_campaign(spec, tmp_path / "broken", settings.model_copy(update={"progress": stop_at_six}), wiring=wiring)
    ws = Workspace(tmp_path / "broken")
    assert ws.load_state().status == "stopped" and len(ws.finished_ids()) == 6
    wiring = fakes.wiring(jitter_seed=6)
    summary = resume_campaign(tmp_path / "broken", settings, wiring=wiring)
    assert summary.status == "done"
    assert decisions(tmp_path / "broken") == decisions(tmp_path / "straight")
    assert summary.evaluated == len([r for r in load_records(ws) if not r["result"]["cached"]])
    commits = [c.message for c in git.Repo(tmp_path / "broken").iter_commits() if c.message.startswith("e0")]
    assert len(commits) == len(ws.finished_ids())


def test_constraints_are_never_violated_by_a_trained_candidate(tmp_path, settings, monkeypatch):
    executors: list[fakes.JitterExecutor] = []
    wiring = fakes.wiring(jitter_seed=7, executors=executors)
    summary = run_campaign(make_spec(evals=10, max_params=16_000), tmp_path / "c", settings, wiring=wiring)
    records = load_records(Workspace(tmp_path / "c"))
    trained = {r["id"]: r for r in records if r["id"] in executors[0].submitted}
    assert trained and all(r["result"]["params"] <= 16_000 for r in trained.values())
    rejected = [r for r in records if r["result"]["failure"] == "constraint"]
    assert summary.rejected == len(rejected)
    assert all(r["id"] not in executors[0].submitted for r in rejected)


@pytest.mark.slow  # imports litellm (tens of seconds on a busy machine)
def test_agents_work_through_the_http_mock_model_via_litellm(tmp_path, settings, monkeypatch):
    from archlab.llm import running_mock_server

    wiring = fakes.wiring(jitter_seed=8)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-dummy-for-the-local-mock")
    spec = make_spec(evals=6)
    run_campaign(spec, tmp_path / "in-process", settings, wiring=wiring)
    with running_mock_server() as server:
        http = spec.model_copy(update={"model": "openai/mock"})
        summary = run_campaign(http, tmp_path / "http", settings.model_copy(update={"api_base": server.api_base}), wiring=wiring)
    assert summary.status == "done" and summary.llm.calls > 0 and summary.llm.fallbacks == 0
    assert decisions(tmp_path / "http") == decisions(tmp_path / "in-process")
