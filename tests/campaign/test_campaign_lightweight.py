"""Lightweight campaigns ask their similarity questions of an in-process index of their own
experiments: a resumed one must know the experiments already on disk, or its coder would
see other memories (and choose otherwise) than a campaign that ran straight through."""

from __future__ import annotations

from pathlib import Path

import pytest

import campaign_fakes as fakes
from archlab.campaign import load_records, resume_campaign, run_campaign
from archlab.campaign.workspace import Workspace
from campaign_fakes import make_spec


def decisions(folder: Path) -> list[tuple[str, str, str]]:
    return [(r["id"], r["arch_hash"], str(r.get("edit"))) for r in load_records(Workspace(folder))]


def test_a_resumed_lightweight_campaign_decides_as_one_that_ran_straight(tmp_path, settings):
    light = settings.model_copy(update={"lightweight": True})
    spec = make_spec(evals=12)
    run_campaign(spec, tmp_path / "straight", light, wiring=fakes.wiring(jitter_seed=31))

    def stop_at_seven(event):
        if event.done == 7:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_campaign(spec, tmp_path / "broken", light.model_copy(update={"progress": stop_at_seven}),
                     wiring=fakes.wiring(jitter_seed=32))
    assert len(Workspace(tmp_path / "broken").finished_ids()) == 7
    summary = resume_campaign(tmp_path / "broken", light, wiring=fakes.wiring(jitter_seed=33))
    assert summary.status == "done"
    assert decisions(tmp_path / "broken") == decisions(tmp_path / "straight")
