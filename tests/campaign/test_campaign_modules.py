"""The coder writes new modules as code; a sandbox worker mines them into ops the search can use.

Training is faked (jittery fake executor, results a pure function of the tree),
but every `mine` request goes to a real sandboxed worker: the candidate code
never runs in the campaign's (this test's) process, which the tests enforce by
making in-process mining raise.
"""

from __future__ import annotations

import json
from pathlib import Path

import git
import pytest

import campaign_fakes as fakes
from archlab.campaign import load_records, run_campaign, status_json, summarize
from archlab.campaign.modules import load_log, uses_mined
from archlab.campaign.workspace import Workspace
from archlab.llm import mock as mock_model
from campaign_fakes import make_spec

GOOD = '''import torch
from torch import nn


class Gate1d(nn.Module):
    def __init__(self, channels: int = 8, kernel_size: int = 3):
        super().__init__()
        self.conv = nn.Conv1d(channels, channels, kernel_size, padding=kernel_size // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(self.conv(x))
'''
SYNTAX_ERROR = "from torch import nn\n\nclass Broken(nn.Module):\n    def forward(self, x)\n        return x\n"
RAISES = '''from torch import nn


class Raises(nn.Module):
    def __init__(self, channels: int = 8):
        super().__init__()

    def forward(self, x):
        raise RuntimeError("this block is broken on purpose")
'''
LOOPS = '''from torch import nn


class Loops(nn.Module):
    def __init__(self, channels: int = 8):
        super().__init__()

    def forward(self, x):
        while True:
            pass
'''


@pytest.fixture(scope="module")
def miner(cache_dir: Path):
    """One real sandbox worker for every `mine` request of this file's campaigns."""
    from archlab.sandbox import make_executor

    executor = make_executor("mnist1d", workers=1, cache_dir=cache_dir)
    yield executor
    executor.close()


@pytest.fixture
def no_mining_here(monkeypatch):
    """Candidate code must never run in the campaign process: mining here would raise."""
    from archlab import tools
    from archlab.tools import mining

    def refuse(*args, **kwargs):
        raise AssertionError("code mining ran in the campaign process")

    monkeypatch.setattr(mining, "mine", refuse)
    monkeypatch.setattr(tools, "mine", refuse)


class ScriptedCoder:
    """The mock model's module answer, scripted: one source per request (a re-ask repeats it)."""

    def __init__(self, sources: list[tuple[str, str]]) -> None:
        self.sources, self.asked = sources, 0

    def __call__(self, prompt: str, rng) -> dict:
        if "Your answer was rejected" not in prompt:
            self.asked += 1
        name, code = self.sources[min(self.asked, len(self.sources)) - 1]
        return {"name": name, "code": code, "rationale": "scripted for a test"}


def decisions(folder: Path) -> list[tuple[str, str]]:
    return [(r["id"], r["arch_hash"]) for r in load_records(Workspace(folder))]


def test_a_written_module_is_mined_in_the_sandbox_and_trained(tmp_path, settings, monkeypatch, miner, no_mining_here):
    monkeypatch.setitem(mock_model._HANDLERS, "coder-module", ScriptedCoder([("Gate1d", GOOD)]))
    executors: list[fakes.JitterExecutor] = []
    wiring = fakes.wiring(jitter_seed=21, executors=executors, miner=miner)
    chosen = settings.model_copy(update={"module_every": 4})
    summary = run_campaign(make_spec(evals=10), tmp_path / "c", chosen, wiring=wiring)
    folder = tmp_path / "c"
    log = load_log(folder)
    assert [o.index for o in log] == [2, 6]  # right after the two seeds, then every 4 proposals
    assert all(o.status == "mined" for o in log)
    assert log[0].ops[0]["name"] == "mined.Gate1d" and log[0].ops[0]["kinds"] == ["seq"]
    assert (folder / log[0].source_path).read_text() == GOOD
    tracked = set(git.Repo(folder).git.ls_files().splitlines())
    assert {"modules/modules.json", log[0].source_path} <= tracked
    records = load_records(Workspace(folder))
    trial = next(r for r in records if r["id"] == log[0].exp_id)
    assert trial["edit"]["fixed"]["op"] == "mined.Gate1d"  # the asking proposal tries the new op
    using = [r for r in records if uses_mined(r["arch"]) and r["id"] in executors[0].submitted]
    assert using and all(r["result"]["status"] == "ok" for r in using)
    assert all(r["arch"]["mined"]["mined.Gate1d"]["source"] == GOOD for r in using)  # self-contained trees
    assert summary.status == "done"
    status = json.loads(status_json(summarize(folder)))["modules"]
    assert status["asked"] == 2 and status["written"] == 2 and status["mined"] == 2 and status["rejected"] == 0
    assert status["ops"] == ["mined.Gate1d"] and status["used"] == len(using)
    cassette = (folder / "llm" / "cassette.jsonl").read_text()
    assert cassette.count("coder-module") >= 2  # the coder's answers are recorded for replay
    assert not git.Repo(folder).is_dirty(untracked_files=True)

    wiring = fakes.wiring(jitter_seed=22, miner=miner)  # other timing, same decisions
    run_campaign(make_spec(evals=10), tmp_path / "again", chosen, wiring=wiring)
    assert decisions(tmp_path / "again") == decisions(folder)
    assert [o.model_dump(exclude={"source_path"}) for o in load_log(tmp_path / "again")] == \
        [o.model_dump(exclude={"source_path"}) for o in log]


def test_broken_modules_are_rejected_with_a_reason_and_the_campaign_goes_on(
        tmp_path, settings, monkeypatch, miner, no_mining_here):
    script = [("Broken", SYNTAX_ERROR), ("Raises", RAISES), ("Loops", LOOPS), ("Gate1d", GOOD)]
    monkeypatch.setitem(mock_model._HANDLERS, "coder-module", ScriptedCoder(script))
    wiring = fakes.wiring(jitter_seed=23, miner=miner)
    chosen = settings.model_copy(update={"module_every": 1, "module_time_s": 3.0})
    summary = run_campaign(make_spec(evals=7), tmp_path / "c", chosen, wiring=wiring)
    assert summary.status == "done" and summary.evaluated == 7
    by_exp = {o.exp_id: o for o in load_log(tmp_path / "c")}
    syntax, raises, loops, good = (by_exp[e] for e in ("e0003", "e0004", "e0005", "e0006"))
    assert syntax.status == "rejected" and "no usable module" in syntax.reason and syntax.source_path is None
    assert raises.status == "rejected" and raises.failure == "compile" and "broken on purpose" in raises.reason
    assert loops.status == "rejected" and loops.failure == "timeout"
    assert (tmp_path / "c" / loops.source_path).read_text() == LOOPS  # kept for the person to read
    assert good.status == "mined"  # the sandbox recovered from the killed worker
    records = load_records(Workspace(tmp_path / "c"))
    assert not any(name in json.dumps(r["arch"]) for r in records for name in ("Raises", "Loops", "Broken"))
    counts = summarize(tmp_path / "c").modules
    assert counts.rejected == 3 and counts.mined >= 1 and counts.written == counts.asked - 1
    assert len(counts.reasons) == 3 and counts.reasons[0].startswith("e0003 (none): ")
    from archlab.report import build_report

    markdown, html = build_report(tmp_path / "c")
    section = markdown.read_text().split("### Modules the coder wrote", 1)[1].split("## Failures", 1)[0]
    assert "| `e0004` | Raises | rejected | compile:" in section and "| `e0005` | Loops | rejected | timeout:" in section
    assert "mined.Gate1d" in section and "Modules the coder wrote" in html.read_text()


@pytest.mark.slow  # real workers train every candidate
def test_real_campaign_trains_a_tree_with_the_mock_coders_mined_op(tmp_path, cache_dir):
    from archlab.campaign import CampaignSettings

    settings = CampaignSettings(workers=2, embedder="hashing", cache_dir=cache_dir, report_every_s=3600,
                                recipe_overrides={"steps": 30, "eval_every": 10}, eval_time_s=120,
                                module_every=100)
    summary = run_campaign(make_spec(evals=4, max_params=25_000), tmp_path / "c", settings)
    assert summary.status == "done" and summary.modules.mined == 1
    trial = next(r for r in load_records(Workspace(tmp_path / "c")) if r["id"] == "e0003")
    assert uses_mined(trial["arch"]) and trial["edit"]["fixed"]["op"].startswith("mined.")
    assert trial["result"]["status"] == "ok" and trial["result"]["steps"] > 0  # really trained in a worker
    (op,) = trial["arch"]["mined"].values()
    assert f"class {op['class_name']}" in (tmp_path / "c" / "experiments" / "e0003" / "model.py").read_text()


def test_the_sandbox_mines_and_sizes_candidate_code_itself(miner):
    from archlab import tools
    from archlab.records import Constraints
    from archlab.sandbox import EvalRequest, Limits

    mined = miner.submit(EvalRequest(exp_id="m1", arch={}, task="mnist1d", kind="mine", source=GOOD,
                                     limits=Limits(time_s=60))).result()
    assert mined.ok and [op["name"] for op in mined.mined_ops] == ["mined.Gate1d"] and mined.steps == 0
    escape = GOOD + "\nimport os\nos.system('true')\n"
    refused = miner.submit(EvalRequest(exp_id="m2", arch={}, task="mnist1d", kind="mine", source=escape,
                                       limits=Limits(time_s=60))).result()
    assert refused.failure == "sandbox" and "running a shell command" in refused.error
    op = tools.MinedOp.model_validate(mined.mined_ops[0])
    arch = tools.with_mined(tools.seeds.mnist1d_cnn(), op)
    edit = next(e for e in tools.legal_edits(arch, (1, 40), kinds=["insert"]) if e.fixed.get("op") == op.name)
    child = tools.apply(arch, edit.sample(__import__("random").Random(0)))
    too_big = miner.submit(EvalRequest(exp_id="t1", arch=child.model_dump(mode="json"), task="mnist1d",
                                       constraints=Constraints(max_params=1_000), recipe_overrides={"steps": 5},
                                       limits=Limits(time_s=60))).result()
    assert too_big.failure == "constraint" and too_big.steps == 0 and too_big.params > 1_000


def test_an_interrupted_campaign_resumes_with_the_same_modules(tmp_path, settings, monkeypatch, miner):
    from archlab.campaign import resume_campaign

    monkeypatch.setitem(mock_model._HANDLERS, "coder-module", ScriptedCoder([("Gate1d", GOOD)]))
    chosen = settings.model_copy(update={"module_every": 4})
    wiring = fakes.wiring(jitter_seed=24, miner=miner)
    run_campaign(make_spec(evals=10), tmp_path / "straight", chosen, wiring=wiring)

    def stop_at_four(event):
        if event.done == 4:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_campaign(make_spec(evals=10), tmp_path / "broken", chosen.model_copy(update={"progress": stop_at_four}), wiring=wiring)
    wiring = fakes.wiring(jitter_seed=25, miner=miner)
    resume_campaign(tmp_path / "broken", chosen, wiring=wiring)
    assert decisions(tmp_path / "broken") == decisions(tmp_path / "straight")
    assert [o.model_dump() for o in load_log(tmp_path / "broken")] == \
        [o.model_dump() for o in load_log(tmp_path / "straight")]
    messages = [c.message for c in git.Repo(tmp_path / "broken").iter_commits() if c.message.startswith("module ")]
    assert sorted(m.split(":")[0] for m in messages) == ["module e0003 Gate1d", "module e0007 Gate1d"]


def test_the_search_proposes_from_a_parent_that_uses_a_mined_op_under_a_cap():
    from archlab import tools
    from archlab.campaign.collaborators import make_search
    from archlab.records import Result
    from archlab.sandbox import Task

    op = tools.mine(source=GOOD).ops[0]  # this test's own trusted code
    seed = tools.seeds.mnist1d_cnn()
    edit = next(e for e in tools.legal_edits(tools.with_mined(seed, op), (1, 40), kinds=["insert"])
                if e.fixed.get("op") == op.name)
    mined_tree = tools.apply(tools.with_mined(seed, op), edit.sample(__import__("random").Random(0)))
    spec = make_spec("agentic", seeds=("mnist1d_cnn",), max_params=25_000)
    backbone = make_search(spec, Task(name="mnist1d", input_shape=(1, 40), num_classes=10))
    backbone.propose(0)
    backbone.observe("e0001", seed, Result(status="ok", val_accuracy=0.5, params=5_000))
    backbone.propose(1)
    backbone.observe("e0002", mined_tree, Result(status="ok", val_accuracy=0.9, params=6_000))
    for step in range(2, 8):  # the mined tree is the best parent: sizing it here would run its code
        proposal = backbone.propose(step)
        backbone.observe(f"e{step + 1:04d}", proposal.parent_arch, Result(status="ok", val_accuracy=0.1, params=1))
    assert backbone.best().id == "e0002"
