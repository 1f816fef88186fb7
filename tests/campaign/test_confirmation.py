"""Issue 17: one best everywhere, the confirmation stage, and test accuracy deciding nothing.

Campaigns run with the jittery fake executor (results a pure function of the tree),
scripted here so that candidates tie, or so that test accuracies are scrambled.
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
from concurrent.futures import Future
from pathlib import Path
from typing import Any, Callable

import git

import campaign_fakes as fakes
from archlab import tools
from archlab.campaign import Wiring, confirm_campaign, export_model, load_records, run_campaign, summarize
from archlab.campaign.report_refresh import refresh_report
from archlab.campaign.workspace import Workspace
from archlab.records import ConfirmSpec, Result
from archlab.report import load_campaign
from archlab.report.build import report_context

Score = Callable[[Any, Any], Result]  # (tree, request) -> Result


class ScriptedExecutor(fakes.JitterExecutor):
    """The jittery executor, with results from `score` (which sees the request: seed, holdout)."""

    def __init__(self, jitter_seed: int, workers: int, score: Score) -> None:
        super().__init__(jitter_seed, workers)
        self.score = score
        self.requests: list[Any] = []

    def submit(self, request: Any) -> Future[Result]:
        if getattr(request, "kind", "train") == "mine":
            return super().submit(request)  # mines nothing
        future: Future[Result] = Future()
        with self._lock:
            delay = self._rng.uniform(0, self._max)
            self.requests.append(request)
        arch = tools.Arch.model_validate(request.arch)

        def finish() -> None:
            time.sleep(delay)
            future.set_result(self.score(arch, request))

        threading.Thread(target=finish, daemon=True).start()
        return future


def scripted(score: Score, executors: list[ScriptedExecutor] | None = None) -> Wiring:
    base = fakes.wiring(jitter_seed=3)

    def executor(spec: Any, settings: Any, task: Any) -> ScriptedExecutor:
        made = ScriptedExecutor(3, settings.workers, score)
        if executors is not None:
            executors.append(made)
        return made

    return Wiring(search=base.search, executor=executor)


def tied(arch: Any, request: Any) -> Result:
    """Every candidate scores exactly the same on validation; test accuracy differs (and must not matter)."""
    found = fakes.fake_result(arch, request.fidelity)
    return found.model_copy(update={"val_accuracy": 0.8, "test_accuracy": found.val_accuracy})


def tag_names(root: Path) -> str:
    """The experiment the git tag `best` names: its message, and the commit that added it (one commit per
    experiment; a lightweight campaign commits them all at once, in its records log)."""
    tag = git.Repo(root).tags["best"]
    named = re.match(r"best: (e\d+) ", tag.tag.message).group(1)
    added = {Path(p).parts[1] for p in tag.commit.stats.files if p.startswith("experiments/")}
    if "records.jsonl" in added:  # a lightweight campaign's experiments: lines of its records log
        log = (tag.commit.tree / "experiments" / "records.jsonl").data_stream.read().decode()
        added |= {json.loads(line)["id"] for line in log.splitlines() if line}
    assert named in added, added
    return named


def report_best(root: Path) -> str:
    refresh_report(root)
    text = (root / "report.md").read_text(encoding="utf-8")
    named = re.search(r"\*\*Best so far:\*\* `(e\d+)`", text)
    assert named is not None, text[:500]
    context = report_context(load_campaign(root))
    assert context["best"].id == named.group(1)
    return named.group(1)


def export_names(root: Path, tmp: Path) -> str:
    lines = export_model(root, None, tmp / "model.py")
    return re.match(r"Wrote \S+ \((e\d+)\)", lines[0]).group(1)


def every_surface(root: Path, tmp: Path) -> dict[str, str]:
    return {"status": summarize(root).best.id, "report": report_best(root), "export": export_names(root, tmp),
            "tag": tag_names(root)}


def test_a_tie_on_validation_names_the_same_best_everywhere(tmp_path, settings):
    spec = fakes.make_spec(evals=8)
    run_campaign(spec, tmp_path / "c", settings, wiring=scripted(tied))
    records = [r for r in load_records(Workspace(tmp_path / "c")) if r["result"]["status"] == "ok"]
    assert len({r["result"]["val_accuracy"] for r in records}) == 1 and len(records) >= 3  # a real tie
    named = every_surface(tmp_path / "c", tmp_path)
    assert len(set(named.values())) == 1, named
    # the stated tie-break: fewer parameters, then the earlier experiment
    full = [r for r in records if r["result"]["fidelity"] == 1.0]
    expected = min(full, key=lambda r: (r["result"]["params"], int(r["id"][1:])))["id"]
    assert named["status"] == expected
    assert "ties go to the fewer parameters, then to the earlier experiment" in (tmp_path / "c" / "report.md").read_text()


def test_a_confirmed_tie_names_the_same_best_everywhere_and_status_carries_its_statistics(tmp_path, settings):
    executors: list[ScriptedExecutor] = []
    spec = fakes.make_spec(evals=10).model_copy(update={"confirm": ConfirmSpec(top_k=2, seeds=2)})
    summary = run_campaign(spec, tmp_path / "c", settings, wiring=scripted(tied, executors))
    records = load_records(Workspace(tmp_path / "c"))
    runs = [r for r in records if (r.get("edit") or {}).get("kind") == "confirm"]
    assert len(runs) == 4 and all(r["id"] > s["id"] for r in runs for s in records if s not in runs)
    assert sorted({r["edit"]["seed"] for r in runs}) == [spec.seed + 1, spec.seed + 2]
    search_trainings = sum(1 for r in records if r not in runs and not r["result"].get("cached"))
    assert search_trainings + len(runs) <= 10  # paid by reserve: inside the evaluation budget
    best = summary.best
    assert best.confirmed and best.n_seeds == 2 and best.val_mean == 0.8 and best.val_std == 0.0
    status = json.loads(summarize(tmp_path / "c").model_dump_json())
    assert {"val_mean", "val_std", "n_seeds"} <= set(status["best"])
    named = every_surface(tmp_path / "c", tmp_path)
    assert len(set(named.values())) == 1, named
    assert named["status"] == best.id and best.id in {r["edit"]["source_id"] for r in runs}


def test_test_accuracy_changes_no_decision(tmp_path, settings):
    """Scramble every test accuracy (as if the test labels were shuffled): same trees, same confirmations, same best."""

    def scrambled(arch: Any, request: Any) -> Result:
        found = fakes.fake_result(arch, request.fidelity)
        noise = random.Random(f"{tools.arch_hash(arch)}/{request.seed}/{request.fidelity}").random()
        return found.model_copy(update={"test_accuracy": noise})

    def honest(arch: Any, request: Any) -> Result:
        return fakes.fake_result(arch, request.fidelity)

    spec = fakes.make_spec(evals=12).model_copy(update={"confirm": ConfirmSpec(top_k=3, seeds=2)})
    outcomes = []
    for name, score in (("honest", honest), ("scrambled", scrambled)):
        summary = run_campaign(spec, tmp_path / name, settings, wiring=scripted(score))
        records = load_records(Workspace(tmp_path / name))
        outcomes.append(([(r["id"], r["arch_hash"], json.dumps(r.get("edit"), sort_keys=True)) for r in records],
                         summary.best.id, summary.best.val_mean))
        assert any((r.get("edit") or {}).get("kind") == "confirm" for r in records)
    assert outcomes[0] == outcomes[1]


def test_confirm_command_confirms_a_finished_campaign_once(tmp_path, settings):
    executors: list[ScriptedExecutor] = []

    def by_seed(arch: Any, request: Any) -> Result:
        found = fakes.fake_result(arch, request.fidelity)
        return found.model_copy(update={"val_accuracy": (found.val_accuracy or 0) + 0.001 * (request.seed % 3)})

    run_campaign(fakes.make_spec(evals=8), tmp_path / "c", settings, wiring=scripted(by_seed, executors))
    assert summarize(tmp_path / "c").best.confirmed is False
    summary = confirm_campaign(tmp_path / "c", settings, top_k=2, seeds=3, wiring=scripted(by_seed, executors))
    assert summary.best.confirmed and summary.best.n_seeds == 3 and summary.best.val_std is not None
    assert "confirmed the top 2 candidates with 3 fresh seeds" in summary.confirmation
    count = len(load_records(Workspace(tmp_path / "c")))
    again = confirm_campaign(tmp_path / "c", settings, top_k=2, seeds=3, wiring=scripted(by_seed, executors))
    assert len(load_records(Workspace(tmp_path / "c"))) == count  # nothing retrained: idempotent
    assert again.best.id == summary.best.id == tag_names(tmp_path / "c")


def confirmation_view(root: Path) -> list[tuple]:
    return [(r["id"], r["arch_hash"], json.dumps(r.get("edit"), sort_keys=True), r["result"]["val_accuracy"])
            for r in load_records(Workspace(root))]


def test_a_kill_during_confirmation_resumes_it_and_a_replay_reproduces_it(tmp_path, settings):
    import pytest

    from archlab.campaign import replay_campaign, resume_campaign

    spec = fakes.make_spec(evals=12).model_copy(update={"confirm": ConfirmSpec(top_k=2, seeds=2)})
    straight = run_campaign(spec, tmp_path / "straight", settings, wiring=scripted(tied))
    seen: list[str] = []

    def stop(event):
        if " -> val " in event.message and "confirm e" in event.message:
            seen.append(event.message)
            if len(seen) == 2:
                raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_campaign(spec, tmp_path / "broken", settings.model_copy(update={"progress": stop}), wiring=scripted(tied))
    state = Workspace(tmp_path / "broken").load_state()
    assert state.phase == "confirm" and state.status == "stopped"
    done = sum((r.get("edit") or {}).get("kind") == "confirm" for r in load_records(Workspace(tmp_path / "broken")))
    assert 1 <= done < 4
    resumed = resume_campaign(tmp_path / "broken", settings, wiring=scripted(tied))
    assert confirmation_view(tmp_path / "broken") == confirmation_view(tmp_path / "straight")
    assert resumed.best.id == straight.best.id and resumed.best.n_seeds == 2
    assert tag_names(tmp_path / "broken") == straight.best.id
    replayed = replay_campaign(tmp_path / "straight", tmp_path / "replay", settings, wiring=scripted(tied))
    assert confirmation_view(tmp_path / "replay") == confirmation_view(tmp_path / "straight")
    assert replayed.replay is not None and replayed.replay.identical and replayed.best.id == straight.best.id


def test_lineage_changes_compare_like_with_like_and_show_the_budget(tmp_path, settings):
    from archlab.report.summary import lineage

    run_campaign(fakes.make_spec(evals=16), tmp_path / "c", settings, wiring=fakes.wiring(jitter_seed=11))
    view = load_campaign(tmp_path / "c")
    steps = [step for exp in view.experiments if exp.ok for step in lineage(view, exp.id)]
    mixed = [s for s in steps if s.exp.parent_ids and s.exp.ok and view.by_id[s.exp.parent_ids[0]].ok
             and view.by_id[s.exp.parent_ids[0]].result.fidelity != s.exp.result.fidelity]
    assert mixed, "the fake campaign screens at half fidelity and promotes: some parent has another budget"
    for step in mixed:
        assert step.delta is None and step.why_no_delta.startswith("parent at ")
    for step in steps:
        assert step.budget.startswith(f"{step.exp.result.fidelity:.0%}")
        if step.delta is not None:
            assert view.by_id[step.exp.parent_ids[0]].result.fidelity == step.exp.result.fidelity
    refresh_report(tmp_path / "c")
    assert "| step | experiment | edit | val acc | change | params | budget |" in (tmp_path / "c" / "report.md").read_text()


def test_a_lookup_campaign_skips_confirmation_and_exports_its_shape_without_weights(tmp_path):
    import pytest

    from archlab.campaign import CampaignSettings
    from archlab.records import Budget, CampaignSpec

    table = Path("/work/shared/data/nb201/nb201_cifar10.csv")
    if not table.is_file():
        pytest.skip(f"no NAS-Bench-201 table at {table}")
    spec = CampaignSpec(goal="lookup", task=f"table:{table}", strategy="random", seed=0, seed_archs=["nb201"],
                        budget=Budget(max_evals=6), confirm=ConfirmSpec(top_k=2, seeds=2))
    settings = CampaignSettings(workers=1, lightweight=True, write_report=False, embedder="hashing")
    summary = run_campaign(spec, tmp_path / "t", settings)
    assert "nothing to train again" in summary.confirmation and not summary.best.confirmed
    assert not any((r.get("edit") or {}).get("kind") == "confirm" for r in load_records(Workspace(tmp_path / "t")))
    lines = export_model(tmp_path / "t", None, tmp_path / "nb.py")
    assert any(line.startswith("A lookup result has no trained weights") for line in lines)
    assert not (tmp_path / "nb.safetensors").exists()
    source = (tmp_path / "nb.py").read_text()
    assert "INPUT_SHAPE = (3, 32, 32)" in source and "NUM_CLASSES = 10" in source
    assert tag_names(tmp_path / "t") == summary.best.id
