"""The command as a person uses it: run, status, show, export, report, replay (slow: real training)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import torch
import yaml

from archlab.cli import main

pytestmark = pytest.mark.slow
torch.set_num_threads(1)


@pytest.fixture(scope="module")
def campaign(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli")
    config = root / "tiny.yaml"
    config.write_text(yaml.safe_dump({
        "max_evals": 4, "workers": 2, "embedder": "hashing", "recipe": {"steps": 30, "eval_every": 10},
        "max_params": 25_000}))
    out = root / "run"
    assert main(["run", "find a small accurate model for MNIST-1D", "--out", str(out),
                 "--config", str(config), "--seed", "3"]) == 0
    return out


def test_run_prints_the_spec_progress_and_where_the_report_is(campaign, capsys):
    # the module fixture ran the command; run it again into another folder to see its output
    out = campaign.parent / "second"
    code = main(["run", "find a small accurate model for MNIST-1D", "--out", str(out), "--max-evals", "2",
                 "--strategy", "random", "--config", str(campaign.parent / "tiny.yaml")])
    printed = capsys.readouterr().out
    assert code == 0
    assert '"strategy": "random"' in printed  # the spec the planner made, with the flag applied
    assert "e0001" in printed and "e0002" in printed  # plain progress lines (not a terminal here)
    assert f"Report: {out / 'report.html'}" in printed


def test_status_json_is_a_stable_object(campaign, capsys):
    assert main(["status", str(campaign), "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    for key in ("evaluated", "failed", "cached", "best", "strategy", "seed", "llm"):
        assert key in status
    assert set(status["best"]) >= {"id", "val_accuracy", "test_accuracy", "params"}
    assert set(status["llm"]) >= {"calls", "retries", "fallbacks", "tokens", "cost_usd"}
    assert status["evaluated"] == 4 and status["seed"] == 3 and status["strategy"] == "agentic"
    assert status["llm"]["calls"] > 0 and status["best"]["params"] <= 25_000


def test_show_and_export_give_the_tree_code_and_a_working_model(campaign, tmp_path, capsys):
    assert main(["show", str(campaign), "e0003"]) == 0
    shown = capsys.readouterr().out
    assert "tree:" in shown and "def build_model" in shown and "diff against parent" in shown
    target = tmp_path / "model.py"
    assert main(["export", str(campaign), "-o", str(target)]) == 0
    spec = importlib.util.spec_from_file_location("exported", target)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.build_model()(torch.zeros(3, 1, 40)).shape == (3, 10)
    assert main(["show", str(campaign), "e9999"]) == 2


def test_replay_from_the_cassette_gives_the_same_candidates(campaign, tmp_path, capsys):
    code = main(["replay", str(campaign), "--out", str(tmp_path / "replayed")])
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "Replay: 4/4 candidates identical" in printed


def test_report_and_compare(campaign, tmp_path, capsys):
    assert main(["report", str(campaign)]) == 0
    assert (campaign / "report.html").is_file()
    assert main(["report", str(campaign), str(campaign.parent / "second"), "--compare", "-o", str(tmp_path)]) == 0
    assert list(tmp_path.glob("*.html"))
    assert main(["report", str(campaign), str(campaign)]) == 2  # several folders need --compare


def test_reindex_rebuilds_a_deleted_memory(campaign, capsys):
    import shutil

    shutil.rmtree(campaign / "index")
    assert main(["reindex", str(campaign)]) == 0
    assert "Reindexed 4 experiments" in capsys.readouterr().out
