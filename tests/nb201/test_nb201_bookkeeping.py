"""A lightweight campaign saves state.json only now and then, writes its records as lines of one
log and writes no model.py: a kill -9 (even one that cuts a line of the log short) must still
lose at most the in-flight evaluations (a resume decides as a straight run), and `archlab
export`, `show`, the report and reindex must still see every experiment."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from archlab.campaign import CampaignSettings, load_records, model_source, resume_campaign, run_campaign
from archlab.campaign.workspace import Workspace
from archlab.cli import main
from archlab.knowledge import HashingEmbedder, Memory
from archlab.knowledge.record_log import log_path, read_log
from archlab.report import load_campaign
from archlab.records import Budget, CampaignSpec

TABLE = Path("/work/shared/data/nb201/nb201_cifar10.csv")
START = "|nor_conv_1x1~0|+|skip_connect~0|avg_pool_3x3~1|+|none~0|nor_conv_1x1~1|skip_connect~2|"
LIGHT = CampaignSettings(workers=1, embedder="hashing", write_report=False, lightweight=True)

pytestmark = pytest.mark.skipif(not TABLE.exists(), reason="NB201 table not present")

_CHILD = """
import sys
from pathlib import Path
from archlab.campaign import CampaignSettings, run_campaign
from archlab.records import Budget, CampaignSpec
spec = CampaignSpec.model_validate_json(Path(sys.argv[1]).read_text())
settings = CampaignSettings(workers=1, embedder="hashing", write_report=False, lightweight=True)
run_campaign(spec, Path(sys.argv[2]), settings)
"""


def spec_for(evals: int) -> CampaignSpec:
    return CampaignSpec(goal="nb201 kill", task=f"table:{TABLE}", strategy="agentic", seed=5,
                        seed_archs=[f"nb201:{START}"], budget=Budget(max_evals=evals))


def decisions(out: Path) -> list[tuple[str, str, bool]]:
    return [(r["id"], r["arch_hash"], r["result"]["cached"]) for r in load_records(Workspace.open(out))]


@pytest.mark.slow
def test_a_kill_9_loses_at_most_the_in_flight_work(tmp_path):
    spec = spec_for(60)
    straight = run_campaign(spec, tmp_path / "straight", LIGHT)
    assert straight.status == "done"
    (tmp_path / "spec.json").write_text(spec.model_dump_json())
    out = tmp_path / "killed"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[2]),
                                                        os.environ.get("PYTHONPATH", "")])}
    child = subprocess.Popen([sys.executable, "-c", _CHILD, str(tmp_path / "spec.json"), str(out)], env=env)
    deadline = time.monotonic() + 120
    while len(read_log(log_path(out))) < 30:  # well inside the run, between checkpoints
        assert child.poll() is None, "the campaign ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.005)
    child.send_signal(signal.SIGKILL)
    child.wait()
    on_disk = len(Workspace.open(out).finished_ids())
    assert 30 <= on_disk < len(decisions(tmp_path / "straight"))
    with log_path(out).open("a", encoding="utf-8") as log:  # as if the kill had cut a line short
        log.write('{"id": "e0099", "arch": {"ro')
    summary = resume_campaign(out, LIGHT)
    assert summary.status == "done"
    assert decisions(out) == decisions(tmp_path / "straight")


def test_export_renders_a_lightweight_campaigns_source_as_a_full_one_writes_it(tmp_path):
    spec = spec_for(4)
    full = LIGHT.model_copy(update={"lightweight": False})
    assert run_campaign(spec, tmp_path / "full", full).status == "done"
    assert run_campaign(spec, tmp_path / "light", LIGHT).status == "done"
    light_ws, full_ws = Workspace.open(tmp_path / "light"), Workspace.open(tmp_path / "full")
    assert not light_ws.experiment_dir("e0002").exists()  # no folder: one line of the records log
    assert [r["id"] for r in read_log(log_path(tmp_path / "light"))] == light_ws.finished_ids()
    written = (full_ws.experiment_dir("e0002") / "model.py").read_text(encoding="utf-8")
    assert model_source(light_ws, "e0002") == written
    assert main(["export", str(tmp_path / "light"), "e0002", "--out", str(tmp_path / "m.py")]) == 0
    exported = (tmp_path / "m.py").read_text(encoding="utf-8")
    assert "Experiment e0002 of campaign light" in exported  # export's docstring names the experiment
    assert _code(exported) == _code(written)  # and the model code is the one a full campaign writes


def _code(source: str) -> str:
    """The file after its module docstring."""
    return source.split('"""', 2)[2]


def test_show_the_report_and_reindex_read_a_lightweight_campaigns_records_log(tmp_path, capsys):
    out = tmp_path / "light"
    assert run_campaign(spec_for(6), out, LIGHT).status == "done"
    ids = Workspace.open(out).finished_ids()
    assert len(ids) >= 6 and not any(p.is_dir() for p in (out / "experiments").iterdir())
    assert [e.id for e in load_campaign(out).experiments] == ids
    assert main(["show", str(out), ids[-1]]) == 0
    assert "parents: " in capsys.readouterr().out
    memory = Memory(tmp_path / "index", embedder=HashingEmbedder())
    try:
        assert memory.reindex(out, fresh=True).records == len(ids)
    finally:
        memory.close()
