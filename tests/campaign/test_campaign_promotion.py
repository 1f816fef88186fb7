"""Fidelity promotion: low-fidelity candidates that compete are re-trained at full fidelity.

The rule is checked on its own, then inside campaigns with the jittery fake
executor (results are a pure function of tree and fidelity, full > half).
"""

from __future__ import annotations

from pathlib import Path

import git
import pytest

import campaign_fakes as fakes
from archlab.campaign import best_of, load_records, resume_campaign, run_campaign
from archlab.campaign.promotion import pick_promotion, promotion_quota
from archlab.campaign.workspace import Workspace
from archlab.records import Result
from campaign_fakes import make_spec


def ok(val: float, fidelity: float) -> Result:
    return Result(status="ok", val_accuracy=val, fidelity=fidelity, params=100)


def test_quota_is_the_top_one_over_eta_capped_at_k():
    assert [promotion_quota(n, top_k=2, eta=3) for n in (0, 2, 3, 6, 9, 30)] == [0, 0, 1, 2, 2, 2]
    assert promotion_quota(10, top_k=0, eta=3) == 0


def test_pick_promotes_the_best_of_a_rung_once_and_ignores_full_and_failed():
    rows = [("e1", ok(0.7, 0.5)), ("e2", ok(0.9, 1.0)), ("e3", ok(0.8, 0.5)),
            ("e4", Result(status="failed", failure="crashed", fidelity=0.5)), ("e5", ok(0.6, 0.5))]
    assert pick_promotion(rows, set(), top_k=3, eta=3, full=1.0) == ("e3", rows[2][1])
    assert pick_promotion(rows, {"e3"}, top_k=3, eta=3, full=1.0) is None  # quota 3 // 3 = 1, used
    assert pick_promotion(rows, {"e3"}, top_k=3, eta=1, full=1.0)[0] == "e1"
    tie = [("e1", ok(0.7, 0.5)), ("e2", ok(0.7, 0.5))]
    assert pick_promotion(tie, set(), top_k=1, eta=1, full=1.0)[0] == "e1"  # earlier wins a tie
    assert pick_promotion(rows, set(), top_k=0, eta=1, full=1.0) is None


def test_reported_best_is_full_fidelity_whenever_one_exists():
    def record(exp: str, val: float, fidelity: float) -> dict:
        return {"id": exp, "result": ok(val, fidelity).model_dump(mode="json")}

    records = [record("e1", 0.95, 0.5), record("e2", 0.80, 1.0), record("e3", 0.85, 1.0)]
    assert best_of(records).id == "e3" and best_of(records).fidelity == 1.0
    assert best_of(records[:1]).id == "e1"  # nothing at full fidelity: the best short one


def promotions(folder: Path) -> list[dict]:
    return [r for r in load_records(Workspace(folder)) if (r.get("edit") or {}).get("kind") == "promote"]


def test_campaign_promotes_competitive_short_runs_to_full_fidelity(tmp_path, settings, monkeypatch):
    executors: list[fakes.JitterExecutor] = []
    wiring = fakes.wiring(jitter_seed=11, executors=executors)
    summary = run_campaign(make_spec(evals=16), tmp_path / "c", settings, wiring=wiring)
    records = {r["id"]: r for r in load_records(Workspace(tmp_path / "c"))}
    promoted = promotions(tmp_path / "c")
    assert promoted, "no low-fidelity candidate was promoted"
    for record in promoted:
        low = records[record["parent_ids"][0]]
        assert low["result"]["fidelity"] < 1.0 and record["result"]["fidelity"] == 1.0
        assert record["arch_hash"] == low["arch_hash"] and record["arch"] == low["arch"]
        assert record["id"] in executors[0].submitted  # really trained again, counted in the budget
        assert record["edit"]["source_id"] == low["id"]
    assert len({r["parent_ids"][0] for r in promoted}) == len(promoted)  # each at most once
    assert summary.best is not None and summary.best.fidelity == 1.0
    messages = [c.message for c in git.Repo(tmp_path / "c").iter_commits()]
    assert any(m.startswith(f"{promoted[0]['id']}: promote {promoted[0]['parent_ids'][0]}") for m in messages)
    assert_rung_rule(load_records(Workspace(tmp_path / "c")), settings)


def test_the_live_line_says_when_a_result_is_a_low_fidelity_screen(tmp_path, settings):
    """The best is read at full fidelity, so a screen's higher score must not look like a missed best."""
    lines: list[str] = []
    progress = settings.model_copy(update={"progress": lambda event: lines.append(event.message)})
    run_campaign(make_spec(evals=16), tmp_path / "c", progress, wiring=fakes.wiring(jitter_seed=11))
    by_id = {r["id"]: r["result"] for r in load_records(Workspace(tmp_path / "c"))}
    shown = {line.split()[0]: line for line in lines if line.split()[0] in by_id}
    low = [exp for exp, result in by_id.items() if result["status"] == "ok" and result["fidelity"] < 1.0]
    assert low, "no low-fidelity run to show"
    assert all(" at fidelity 0.5 (" in shown[exp] for exp in low), [shown[exp] for exp in low]
    assert not any("at fidelity" in shown[exp] for exp in by_id if exp not in low)


def assert_rung_rule(records: list[dict], settings) -> None:
    """Each promoted candidate was in its rung's top (quota) among what that proposal could see."""
    number = {r["id"]: i for i, r in enumerate(records)}
    for record in records:
        if (record.get("edit") or {}).get("kind") != "promote":
            continue
        visible = number[record["id"]] - settings.workers  # the fixed lag
        low = record["parent_ids"][0]
        assert number[low] < visible
        fidelity = records[number[low]]["result"]["fidelity"]
        rung = [r for r in records[:visible] if r["result"]["status"] == "ok" and r["result"]["fidelity"] == fidelity
                and (r.get("edit") or {}).get("kind") != "promote"]
        quota = promotion_quota(len(rung), settings.promote_top_k, settings.promote_eta)
        assert low in [r["id"] for r in sorted(rung, key=lambda r: -r["result"]["val_accuracy"])[:quota]]


def test_no_promotion_when_switched_off_or_for_baselines(tmp_path, settings, monkeypatch):
    wiring = fakes.wiring(jitter_seed=13)
    run_campaign(make_spec(evals=10), tmp_path / "off", settings.model_copy(update={"promote_top_k": 0}), wiring=wiring)
    assert not promotions(tmp_path / "off")
    run_campaign(make_spec("evolution", evals=8), tmp_path / "evo", settings, wiring=wiring)
    assert not promotions(tmp_path / "evo")
    assert {r["result"]["fidelity"] for r in load_records(Workspace(tmp_path / "evo"))} == {1.0}


def test_resume_after_an_interruption_keeps_the_same_promotions(tmp_path, settings, monkeypatch):
    spec = make_spec(evals=16)
    wiring = fakes.wiring(jitter_seed=14)
    run_campaign(spec, tmp_path / "straight", settings, wiring=wiring)
    first = promotions(tmp_path / "straight")
    assert first
    stop_at = int(first[0]["id"][1:]) + 1  # stop just after the first promotion was written

    def stop(event):
        if event.done == stop_at:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_campaign(spec, tmp_path / "broken", settings.model_copy(update={"progress": stop}), wiring=wiring)
    wiring = fakes.wiring(jitter_seed=15)
    resume_campaign(tmp_path / "broken", settings, wiring=wiring)
    assert [(r["id"], r["arch_hash"], r["result"]["fidelity"]) for r in load_records(Workspace(tmp_path / "broken"))] \
        == [(r["id"], r["arch_hash"], r["result"]["fidelity"]) for r in load_records(Workspace(tmp_path / "straight"))]
