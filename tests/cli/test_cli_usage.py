"""Bad usage gets one clear line on stderr and exit code 2, and leaves no folder behind."""

from __future__ import annotations

import subprocess
import sys

import pytest

from archlab.cli import main


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_usage_error(code: int, err: str, *words: str) -> None:
    assert code == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("archlab: ")
    assert "Traceback" not in err
    for word in words:
        assert word.lower() in lines[0].lower(), lines[0]


@pytest.mark.parametrize("args, words", [
    (["run", "x", "--strategy", "greedy"], ["--strategy"]),
    (["run", "x", "--max-evals", "many"], ["--max-evals"]),
    (["run", "x", "--executor", "slurm"], ["--executor"]),
    (["frobnicate"], ["frobnicate"]),
    (["run"], ["goal"]),
])
def test_bad_flags_exit_2_with_one_line(args, words, capsys):
    code, _, err = run_cli(args, capsys)
    assert_one_line_usage_error(code, err, *words)


def test_missing_folder_and_non_campaign_folder_exit_2(tmp_path, capsys):
    for command in (["status"], ["resume"], ["report"], ["reindex"], ["export"], ["replay"]):
        code, _, err = run_cli([*command, str(tmp_path / "nope")], capsys)
        assert_one_line_usage_error(code, err, "does not exist")
        code, _, err = run_cli([*command, str(tmp_path)], capsys)
        assert_one_line_usage_error(code, err, "not an archlab campaign")


@pytest.mark.parametrize("goal, extra, words", [
    ("find a good model for my spreadsheet", [], ["task"]),
    ("a small model for MNIST-1D", ["--max-params", "50"], ["max params", "below"]),
    ("a small model for MNIST-1D", ["--max-params", "1000"], ["below every seed"]),
    ("a small model for MNIST-1D", ["--max-evals", "0"], ["budget"]),
    ("a small model for MNIST-1D", ["--budget-minutes", "0"], ["budget"]),
    ("a small model for MNIST-1D", ["--model", "openai/gpt-4o-mini"], ["key"]),
    ("a small model for MNIST-1D", ["--task", "npz:/no/such/file.npz"], ["file.npz"]),
])
def test_bad_goals_and_settings_exit_2_before_any_folder_exists(goal, extra, words, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    out = tmp_path / "campaign"
    code, _, err = run_cli(["run", goal, "--out", str(out), *extra], capsys)
    assert_one_line_usage_error(code, err, *words)
    assert not out.exists()


def test_config_file_with_unknown_key_is_a_usage_error(tmp_path, capsys):
    config = tmp_path / "c.yaml"
    config.write_text("max_evals: 3\nbudget_hours: 2\n")
    code, _, err = run_cli(["run", "mnist1d", "--config", str(config)], capsys)
    assert_one_line_usage_error(code, err, "budget_hours")


def test_help_works_as_a_console_script():
    done = subprocess.run([sys.executable, "-m", "archlab", "--help"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0
    for command in ("run", "status", "resume", "report", "show", "export", "replay", "reindex", "serve-mock"):
        assert command in done.stdout
