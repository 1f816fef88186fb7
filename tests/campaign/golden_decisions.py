"""Golden decisions: what the search and the campaign chose before the campaign wing was redesigned.

`golden_decisions.json` (next to this file) was written by running this module as a
script on the code *before* issue 18's redesign (commit a5de497). The redesign must not
change one decision, so `test_campaign_golden.py` runs the same drivers on today's code
and compares with the file, entry by entry:

- `nb201`: lookup campaigns on the NAS-Bench-201 table (real `run_campaign`, lightweight,
  one worker, as in benchmarks/bench_nb201.py), three strategies x three seeds: the
  structural hash and cache flag of every experiment;
- `trees`: the search alone on tree spaces (MLP and MNIST-1D seeds, a parameter cap, a lag
  of two, a coder that sometimes takes another menu entry): parent, move, menu, default
  and child of every proposal;
- `campaigns`: MNIST-1D campaigns with the real search and mock agents, training faked by
  a deterministic executor (promotions, constraint rejections, module requests included).

Regenerate only on purpose: `python tests/campaign/golden_decisions.py` (a changed file is a
changed behaviour, and the commit that changes it must say why).
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
FIXTURE = HERE / "golden_decisions.json"
TABLE = Path("/work/shared/data/nb201/nb201_cifar10.csv")
NB201_SEEDS = (0, 1, 2)
NB201_BUDGET = 60
STRATEGIES = ("random", "evolution", "agentic")


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# ---- lookup campaigns ----------------------------------------------------------------------------


def nb201_decisions(strategy: str, seed: int, workdir: Path, workers: int = 1) -> list[list[Any]]:
    """(arch hash, cached) of every experiment of one lookup campaign, in order."""
    from archlab.campaign import CampaignSettings, load_records, run_campaign
    from archlab.campaign.workspace import Workspace
    from archlab.records import Budget, CampaignSpec
    from archlab.sandbox.table import read_table

    cells = sorted(read_table(TABLE).rows)
    import random

    start = cells[random.Random(f"nb201-seed/{seed}").randrange(len(cells))]
    spec = CampaignSpec(goal=f"golden {strategy} {seed}", task=f"table:{TABLE}", strategy=strategy, seed=seed,
                        seed_archs=[f"nb201:{start}"], budget=Budget(max_evals=NB201_BUDGET))
    settings = CampaignSettings(workers=workers, lightweight=True, write_report=False, embedder="hashing")
    out = workdir / f"nb201-{strategy}-{seed}-{workers}"
    summary = run_campaign(spec, out, settings)
    assert summary.status == "done", summary.error
    return [[r["arch_hash"][:16], bool(r["result"]["cached"])] for r in load_records(Workspace.open(out))]


# ---- the search alone on trees -------------------------------------------------------------------


def _fake_result(arch: Any, params: int | None) -> Any:
    from archlab import tools
    from archlab.records import Result

    digest = hashlib.sha256(tools.arch_hash(arch).encode()).digest()
    return Result(status="ok", val_accuracy=0.3 + digest[0] / 400, test_accuracy=digest[1] / 255,
                  params=params if params is not None else 1000 + digest[2] * 50)


def tree_decisions(strategy: str, seed: int, shape: tuple[int, ...], cap: int | None, steps: int,
                   lag: int = 2) -> list[list[Any]]:
    """The search driven like the campaign drives it: propose i after folding in i - lag - 1,
    claim the child (every third step the coder takes the menu's last entry instead of the
    default), reject children over the cap (`constraint`), observe in order."""
    from archlab import tools
    from archlab.records import Result

    search = make_search(strategy, seed, [tools.seeds.mlp(), tools.seeds.mnist1d_cnn()]
                         if len(shape) == 2 else [tools.seeds.mlp()], shape, cap)
    rows: list[list[Any]] = []
    pending: list[tuple[str, Any, Result]] = []
    for step in range(steps):
        while len(pending) > lag:
            search.observe(*pending.pop(0))
        p = search.propose(step)
        edit = p.default
        if edit is not None and step % 3 == 2 and p.menu and p.menu[-1].is_filled:
            edit = p.menu[-1]
        child = p.parent_arch if edit is None else tools.apply(p.parent_arch, edit)
        search.claim(child)
        params = tools.count_params(tools.build(child, shape, 10))
        if cap is not None and params > cap:
            result = Result(status="failed", failure="constraint", error=f"{params} > {cap}")
        else:
            result = _fake_result(child, params)
        pending.append((f"e{step + 1:04d}", child, result))
        menu = _digest(json.dumps([m.model_dump(mode="json") for m in p.menu], sort_keys=True))
        rows.append([list(p.parent_ids), p.edit_kind, p.path, p.donor_id, menu, len(p.walk),
                     None if p.default is None else _digest(p.default.model_dump_json()),
                     tools.arch_hash(child)[:16]])
    return rows


def make_search(strategy: str, seed: int, seeds: list[Any], shape: tuple[int, ...], cap: int | None) -> Any:
    """The search object of one strategy (the API of the code under test)."""
    from archlab.records import Constraints
    from archlab.search import make_strategy

    return make_strategy(strategy, seed, seeds, shape, constraints=Constraints(max_params=cap), num_classes=10)


TREE_CASES: tuple[tuple[str, int, tuple[int, ...], int | None, int], ...] = (
    *((s, 0, (1, 40), 25_000, 24) for s in STRATEGIES),
    *((s, 1, (40,), None, 24) for s in STRATEGIES),
)


# ---- campaigns on trees with a fake trainer ---------------------------------------------------------


CAMPAIGN_CASES: tuple[tuple[str, int, int | None, int], ...] = (
    ("agentic", 0, 25_000, 24), ("agentic", 3, None, 14), ("evolution", 1, 25_000, 14), ("random", 2, None, 14),
)


def campaign_decisions(strategy: str, seed: int, cap: int | None, evals: int, workdir: Path,
                       cache_dir: Path) -> list[list[Any]]:
    """Every experiment of an MNIST-1D campaign whose trainings are faked deterministically."""
    from archlab.campaign import CampaignSettings, load_records
    from archlab.campaign.workspace import Workspace
    from archlab.records import Budget, CampaignSpec, Constraints

    spec = CampaignSpec(goal="find a small accurate model for MNIST-1D", strategy=strategy, seed=seed,
                        budget=Budget(max_evals=evals), constraints=Constraints(max_params=cap),
                        seed_archs=["mlp", "mnist1d_cnn"])
    settings = CampaignSettings(workers=2, embedder="hashing", cache_dir=cache_dir, report_every_s=3600,
                                write_report=False, lightweight=strategy == "random", promote_eta=2)
    out = workdir / f"tree-{strategy}-{seed}"
    summary = run_with_fake_trainer(spec, out, settings)
    assert summary.status == "done", summary.error
    rows = []
    for r in load_records(Workspace.open(out)):
        edit = r.get("edit") or {}
        rows.append([r["id"], r["arch_hash"][:16], list(r.get("parent_ids") or []), edit.get("kind"),
                     edit.get("path"), r["result"]["fidelity"], bool(r["result"]["cached"]),
                     r["result"]["failure"]])
    return rows


def run_with_fake_trainer(spec: Any, out: Path, settings: Any) -> Any:
    """`run_campaign` with the deterministic fake executor of campaign_fakes and the real search.

    (Before the redesign this patched `campaign.rooms.make_campaign_executor`; now the fake is
    passed in through `Wiring`.)"""
    sys.path.insert(0, str(HERE))
    import campaign_fakes
    from archlab.campaign import Wiring, run_campaign

    wiring = Wiring(executor=lambda spec, s, task: campaign_fakes.JitterExecutor(1, s.workers))
    return run_campaign(spec, out, settings, wiring=wiring)


# ---- the fixture -------------------------------------------------------------------------------------


def generate(workdir: Path, cache_dir: Path) -> dict[str, Any]:
    return {
        "nb201": {**{f"{s}/{seed}": nb201_decisions(s, seed, workdir) for s in STRATEGIES for seed in NB201_SEEDS},
                  "agentic/4/workers2": nb201_decisions("agentic", 4, workdir, workers=2)},
        "trees": {f"{s}/{seed}/{shape}/{cap}": tree_decisions(s, seed, shape, cap, steps)
                  for s, seed, shape, cap, steps in TREE_CASES},
        "campaigns": {f"{s}/{seed}/{cap}": campaign_decisions(s, seed, cap, evals, workdir, cache_dir)
                      for s, seed, cap, evals in CAMPAIGN_CASES},
    }


if __name__ == "__main__":
    import tempfile

    from archlab.sandbox.tasks import default_cache_dir

    with tempfile.TemporaryDirectory(prefix="golden-") as tmp:
        data = generate(Path(tmp), default_cache_dir())
    FIXTURE.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {FIXTURE}: " + ", ".join(f"{k} {len(v)}" for k, v in data.items()))
