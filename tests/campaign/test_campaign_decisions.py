"""Every experiment says why it was made, and `coder: random` swaps only the coder's pick.

The real search and mock agents, training faked (campaign_fakes.JitterExecutor): the
decision each record carries is read back through `archlab show`, as a person would.
"""

from __future__ import annotations

import json
from pathlib import Path

import campaign_fakes as fakes
from campaign_fakes import make_spec

from archlab.campaign import CampaignSettings, Wiring, load_records, run_campaign
from archlab.campaign.workspace import Workspace
from archlab.cli import main


def _run(tmp_path: Path, settings: CampaignSettings, name: str, coder: str = "model", evals: int = 12):
    wiring = Wiring(executor=lambda spec, s, task: fakes.JitterExecutor(0, s.workers))
    out = tmp_path / name
    summary = run_campaign(make_spec("agentic", evals=evals, seed=5, max_params=25_000, seeds=("mlp",)),
                           out, settings.model_copy(update={"coder": coder, "lightweight": True}), wiring=wiring)
    assert summary.status == "done", summary.error
    return out, load_records(Workspace.open(out))


def test_each_record_says_why_and_show_prints_it(tmp_path, settings, capsys):
    out, records = _run(tmp_path, settings, "model")
    choosers = [r["decision"]["chooser"] for r in records]
    assert choosers[0] == "seed"
    assert "model" in choosers  # the coder chose from the menu
    for record in records[1:]:
        decision = record["decision"]
        assert decision["search"]  # the backbone's reason: parent choice, move, kick
        if decision["chooser"] == "model":
            assert decision["choice"].startswith("E") and decision["rationale"] and decision["menu_size"] > 0
            assert decision["own_pick"]  # the search's own pick, the fallback
    modelled = next(r for r in records if r["decision"]["chooser"] == "model")
    assert main(["show", str(out), modelled["id"]]) == 0
    shown = capsys.readouterr().out
    assert "decision:" in shown and "chosen by: the coder (model)" in shown
    assert f"why: {modelled['decision']['rationale']}" in shown
    assert f"search: {modelled['decision']['search']}" in shown


def test_random_coder_draws_from_the_same_menu_and_says_so(tmp_path, settings, capsys):
    _, with_model = _run(tmp_path, settings, "model", evals=6)
    out, with_random = _run(tmp_path, settings, "random", coder="random", evals=6)
    assert [r["decision"]["chooser"] for r in with_random][1:] == ["random"] * 5
    # everything before the coder's pick is the same: the seed, the first parent and its menu
    assert with_random[0]["arch_hash"] == with_model[0]["arch_hash"]
    first_model, first_random = with_model[1]["decision"], with_random[1]["decision"]
    assert first_random["menu_size"] == first_model["menu_size"]
    assert first_random["search"] == first_model["search"]
    assert len({json.dumps(r["edit"], sort_keys=True) for r in with_random[1:]}) > 1
    assert main(["show", str(out), with_random[1]["id"]]) == 0
    assert "chosen by: a seeded uniform draw (coder: random)" in capsys.readouterr().out
    again, repeated = _run(tmp_path, settings, "random-again", coder="random", evals=6)
    assert [r["arch_hash"] for r in repeated] == [r["arch_hash"] for r in with_random]  # seeded
