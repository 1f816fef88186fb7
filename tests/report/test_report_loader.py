"""The loader reads half-written and damaged campaign folders without guessing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from archlab.report import ReportError, ReportWarning, load_campaign
from demo_campaign import make_demo_campaign


def test_corrupt_record_is_skipped_with_a_warning_naming_the_file(tmp_path: Path) -> None:
    folder = make_demo_campaign(tmp_path / "c", n_experiments=6)
    broken = folder / "experiments" / "e0004" / "record.json"
    broken.write_text('{"id": "e0004", "result": {"status": "ok", "val_accu')
    with pytest.warns(ReportWarning, match="e0004/record.json"):
        view = load_campaign(folder)
    assert [e.id for e in view.experiments] == ["e0001", "e0002", "e0003", "e0005", "e0006"]
    assert len(view.skipped) == 1 and "e0004" in view.skipped[0]


def test_record_with_a_wrong_type_is_skipped_not_guessed(tmp_path: Path) -> None:
    folder = make_demo_campaign(tmp_path / "c", n_experiments=4)
    path = folder / "experiments" / "e0002" / "record.json"
    record = json.loads(path.read_text())
    record["result"]["val_accuracy"] = "very good"
    path.write_text(json.dumps(record))
    with pytest.warns(ReportWarning, match="val_accuracy"):
        view = load_campaign(folder)
    assert "e0002" not in view.by_id


def test_minimal_record_and_unknown_fields_are_tolerated(tmp_path: Path) -> None:
    folder = tmp_path / "c"
    (folder / "experiments" / "e0001").mkdir(parents=True)
    (folder / "experiments" / "e0001" / "record.json").write_text(json.dumps(
        {"result": {"status": "ok", "val_accuracy": 0.5, "future_field": 1}, "task": "mnist1d",
         "finished_at": 1_767_600_000, "analysis": None}))
    view = load_campaign(folder)
    (exp,) = view.experiments
    assert exp.id == "e0001" and exp.result.val_accuracy == 0.5 and exp.analysis == ""
    assert exp.finished_at is not None and exp.finished_at.tzinfo is not None
    assert exp.edit_text == "seed" and view.spec is None


def test_folder_without_record_counts_as_in_flight(tmp_path: Path) -> None:
    folder = make_demo_campaign(tmp_path / "c", n_experiments=5, finished=False)
    view = load_campaign(folder)
    assert view.in_flight == ["e0006"] and len(view.experiments) == 5


def test_usage_is_read_from_the_llm_rooms_shape(tmp_path: Path) -> None:
    folder = make_demo_campaign(tmp_path / "c", n_experiments=3)
    (folder / "llm" / "usage.json").write_text(json.dumps({"model": "mock", "agents": {
        "coder": {"calls": 3, "requests": 4, "prompt_tokens": 100, "completion_tokens": 20, "cost_usd": 0.5},
        "analyst": {"calls": 2, "prompt_tokens": 50, "completion_tokens": 5, "cost_usd": 0.25}}}))
    view = load_campaign(folder)
    assert sorted(view.usage) == ["analyst", "coder"]
    assert view.usage_total.calls == 5 and view.usage_total.tokens == 175
    assert view.usage_total.cost_usd == pytest.approx(0.75)


@pytest.mark.parametrize("make", ["missing", "empty", "file"])
def test_not_a_campaign_is_one_clear_line(tmp_path: Path, make: str) -> None:
    path = tmp_path / "x"
    if make == "empty":
        path.mkdir()
    elif make == "file":
        path.write_text("hello")
    with pytest.raises(ReportError) as info:
        load_campaign(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message
