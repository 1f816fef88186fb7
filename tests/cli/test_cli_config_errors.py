"""Config mistakes as a person makes them (YAML file or flags): one line naming the key and what it
expects, exit 2, no traceback, no pydantic URL, no folder; and a very long goal is cut with a note."""

from __future__ import annotations

from pathlib import Path

import pytest

from archlab.cli import main

GOAL = "a small accurate model for MNIST-1D"


def one_error_line(code: int, err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1, (code, err)
    assert lines[0].startswith("archlab: ") and "Traceback" not in err
    assert "pydantic" not in err and "http" not in err, lines[0]
    return lines[0]


def config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "c.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("text, words", [
    ('max_evals: "lots"\n', ["max_evals", "expected a positive integer", "'lots'"]),
    ("max_evals: -3\n", ["max_evals", "expected a positive integer", "-3"]),
    ("budget_minutes: -1\n", ["budget_minutes", "positive number of minutes", "-1"]),
    ("workers: 0\n", ["workers", "integer >= 1", "0"]),
    ("max_evals: yes\n", ["max_evals", "expected a positive integer", "True"]),
    ("structured: sometimes\n", ["structured", "one of auto, on, off", "'sometimes'"]),
    ("max_eval: 3\n", ["unknown key", "max_eval", "did you mean max_evals"]),
    ("- max_evals: 3\n", ["must be a mapping", "not a list"]),
    ("just some words\n", ["must be a mapping", "not a single text value"]),
    ("recipe: 5\n", ["recipe", "a mapping"]),
])
def test_a_bad_config_file_is_one_line_naming_the_key_and_what_it_expects(text, words, tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["run", GOAL, "--out", str(out), "--config", str(config(tmp_path, text))])
    line = one_error_line(code, capsys.readouterr().err)
    for word in words:
        assert word in line, line
    assert not out.exists()


@pytest.mark.parametrize("flags, words", [
    (["--workers", "0"], ["--workers", "integer >= 1", "got 0"]),
    (["--max-evals", "-2"], ["--max-evals", "positive integer", "-2"]),
    (["--budget-minutes", "-5"], ["--budget-minutes", "positive number of minutes", "-5"]),
    (["--memory-wait", "-1"], ["--memory-wait", "seconds >= 0", "-1"]),
    (["--structured", "maybe"], ["--structured", "maybe"]),
    (["--seed", "-1"], ["--seed", "integer >= 0"]),
])
def test_a_bad_flag_value_is_one_line_naming_the_flag(flags, words, tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["run", GOAL, "--out", str(out), *flags])
    line = one_error_line(code, capsys.readouterr().err)
    for word in words:
        assert word in line, line
    assert not out.exists()


def test_a_bad_memory_wait_for_reindex_is_one_line(tmp_path, capsys):
    code = main(["reindex", str(tmp_path), "--memory-wait", "-1"])
    assert "--memory-wait" in one_error_line(code, capsys.readouterr().err)


def test_a_bad_invalid_rate_for_serve_mock_is_one_line(capsys):
    code = main(["serve-mock", "--port", "1", "--invalid-rate", "1.5"])
    assert "--invalid-rate" in one_error_line(code, capsys.readouterr().err)


def test_an_empty_config_file_is_no_config(tmp_path, capsys):
    """A file with only comments is an empty mapping, not an error: the flag's error is what shows."""
    code = main(["run", GOAL, "--config", str(config(tmp_path, "# nothing yet\n")), "--max-evals", "0",
                 "--out", str(tmp_path / "run")])
    assert "budget" in one_error_line(code, capsys.readouterr().err)


@pytest.mark.slow  # it runs a one-evaluation campaign to show the long goal is accepted
def test_a_10000_character_goal_is_accepted_and_cut_with_a_note_in_the_printed_spec(tmp_path, capsys):
    words = "please find a small accurate model for MNIST-1D that trains fast and generalises well "
    goal = (words * (10_000 // len(words) + 1))[:10_000]
    out = tmp_path / "run"
    config_path = config(tmp_path, "max_evals: 1\nworkers: 1\nembedder: hashing\nstrategy: random\n"
                                   "recipe: {steps: 20, eval_every: 10}\nreport_every_s: 3600\n")
    code = main(["run", goal, "--out", str(out), "--config", str(config_path)])
    printed, err = capsys.readouterr()
    assert code == 0, err
    assert "goal cut from 10,000 to" in printed and "(the limit is 2,000)" in printed
    assert goal not in printed  # the whole goal is not echoed back
    spec_goal = (out / "spec.json").read_text(encoding="utf-8")
    assert "goal cut from 10,000" in spec_goal
