"""A NAS-Bench-201 table as a campaign task: the same campaign code, seeds that fit it, fast modes."""

from __future__ import annotations

from pathlib import Path

import pytest

from archlab import tools
from archlab.campaign import CampaignSettings, load_records, run_campaign
from archlab.campaign.workspace import Workspace
from archlab.cli import main
from archlab.records import Budget, CampaignSpec

TABLE = Path("/work/shared/data/nb201/nb201_cifar10.csv")
START = "|nor_conv_1x1~0|+|skip_connect~0|avg_pool_3x3~1|+|none~0|nor_conv_1x1~1|skip_connect~2|"

pytestmark = pytest.mark.skipif(not TABLE.exists(), reason="NB201 table not present")


def decisions(out: Path) -> list[tuple[str, bool]]:
    """What the campaign evaluated, in order: structure and whether the cache answered."""
    return [(r["arch_hash"], r["result"]["cached"]) for r in load_records(Workspace.open(out))]


@pytest.mark.parametrize("strategy", ["evolution", "agentic"])
def test_lightweight_mode_takes_the_same_decisions(strategy, tmp_path):
    spec = CampaignSpec(goal="nb201", task=f"table:{TABLE}", strategy=strategy, seed=11,
                        seed_archs=[f"nb201:{START}"], budget=Budget(max_evals=10))
    full = CampaignSettings(workers=1, embedder="hashing", write_report=False)
    light = full.model_copy(update={"lightweight": True})
    assert run_campaign(spec, tmp_path / "full", full).status == "done"
    assert run_campaign(spec, tmp_path / "light", light).status == "done"
    assert len(decisions(tmp_path / "full")) >= 10
    assert decisions(tmp_path / "light") == decisions(tmp_path / "full")
    commits = lambda out: len(list(Workspace.open(out).repo.iter_commits()))  # noqa: E731
    assert commits(tmp_path / "light") < commits(tmp_path / "full")  # and skipped the per-experiment commits


def test_seed_names_for_the_cell_space():
    assert tools.seeds.by_name("nb201").root.params["cell"].count("nor_conv_3x3") == 6
    assert tools.seeds.by_name(f"nb201:{START}").root.params["cell"] == START
    with pytest.raises(tools.ArchError, match="nb201_cell|cell"):
        tools.seeds.by_name("nb201:|bogus~0|")
    with pytest.raises(tools.ArchError, match="nb201:CELL"):
        tools.seeds.by_name("resnet")


def test_run_starts_from_the_cell_given_by_seed_arch(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["run", "search the table", "--task", f"table:{TABLE}", "--out", str(out), "--max-evals", "3",
                 "--strategy", "random", "--seed-arch", f"nb201:{START}", "--workers", "1"])
    assert code == 0, capsys.readouterr().err
    first = load_records(Workspace.open(out))[0]
    assert first["arch"]["root"]["params"]["cell"] == START


@pytest.mark.parametrize("seed_arch, words", [
    ("mlp", ["not a cell of the table", "nb201:CELL"]),
    ("nb201:|nor_conv_3x3~0|", ["unknown seed architecture"]),
])
def test_a_seed_that_cannot_run_on_the_table_is_one_line(seed_arch, words, tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["run", "search the table", "--task", f"table:{TABLE}", "--out", str(out), "--max-evals", "3",
                 "--seed-arch", seed_arch])
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert code == 2 and len(err) == 1, err
    assert all(w.lower() in err[0].lower() for w in words), err[0]
    assert not out.exists()
