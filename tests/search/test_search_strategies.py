"""The search strategies: deterministic, replayable, legal, deduplicating, validation-only."""

from __future__ import annotations

import hashlib

import pytest

from archlab import tools
from archlab.records import Result
from archlab.search import SearchConfig, SearchError, SearchStrategy, make_strategy

MLP_SHAPE = (40,)


def fake_result(arch: tools.Arch, test_salt: str = "") -> Result:
    """A made-up but deterministic score per structure (no training in unit tests)."""
    digest = hashlib.sha256(tools.arch_hash(arch).encode()).digest()
    test_digest = hashlib.sha256((tools.arch_hash(arch) + test_salt).encode()).digest()
    return Result(status="ok", val_accuracy=digest[0] / 255, test_accuracy=test_digest[0] / 255,
                  params=1000 + digest[1] * 100)


def drive(backbone: SearchStrategy, steps: int, test_salt: str = "") -> list[tuple]:
    """Run the loop without a lag; return what each proposal decided."""
    decisions = []
    for step in range(steps):
        p = backbone.propose(step)
        child = p.parent_arch if p.default is None else tools.apply(p.parent_arch, p.default)
        decisions.append((tuple(p.parent_ids), p.edit_kind, p.path,
                          p.default.model_dump_json() if p.default else None, tools.arch_hash(child)))
        backbone.observe(f"e{step + 1:04d}", child, fake_result(child, test_salt))
    return decisions


def mlp_backbone(strategy: str, seed: int = 0, **config) -> SearchStrategy:
    return make_strategy(strategy, seed, [tools.seeds.mlp()], MLP_SHAPE, config=SearchConfig(**config))


@pytest.mark.parametrize("strategy", ["random", "evolution", "agentic"])
def test_same_seed_same_decisions_and_another_seed_differs(strategy):
    a = drive(mlp_backbone(strategy, population=4, tournament=2), 12)
    b = drive(mlp_backbone(strategy, population=4, tournament=2), 12)
    c = drive(mlp_backbone(strategy, seed=1, population=4, tournament=2), 12)
    assert a == b
    assert a != c


@pytest.mark.parametrize("strategy", ["random", "evolution", "agentic"])
def test_every_default_is_a_filled_legal_menu_entry_that_applies(strategy):
    backbone = mlp_backbone(strategy, population=4, tournament=2)
    for step in range(10):
        p = backbone.propose(step)
        if p.default is None:
            assert step == 0 and p.parent_arch == tools.seeds.mlp()  # the seed, as given
            child = p.parent_arch
        else:
            assert p.default.is_filled and p.menu
            assert (p.default.kind, p.default.path) == (p.edit_kind, p.path)
            if strategy != "agentic":  # the coder's menu spans every kind; the others name one move
                assert all(m.kind == p.edit_kind and m.path == p.path for m in p.menu)
            legal = tools.legal_edits(p.parent_arch, MLP_SHAPE, macros=True)
            assert all(m in legal for m in p.menu if m.kind != "crossover")  # crossovers need a donor
            assert any(p.default == m.fill({k: p.default.fixed[k] for k in m.free})
                       for m in p.menu if (m.kind, m.path) == (p.edit_kind, p.path)
                       and all(p.default.fixed.get(k) == v for k, v in m.fixed.items()))
            child = tools.apply(p.parent_arch, p.default)
            assert tools.validate(child, MLP_SHAPE) == []
        backbone.observe(f"e{step + 1:04d}", child, fake_result(child))


@pytest.mark.parametrize("strategy", ["random", "evolution", "agentic"])
def test_resume_by_replaying_the_recorded_prefix_gives_the_same_future(strategy):
    full = drive(mlp_backbone(strategy, population=4, tournament=2), 12)
    resumed = mlp_backbone(strategy, population=4, tournament=2)
    prefix = drive(resumed, 6)  # replaying the first 8 recorded steps...
    assert prefix == full[:6]
    rest = []
    for step in range(6, 12):  # ...then carrying on
        p = resumed.propose(step)
        child = tools.apply(p.parent_arch, p.default)
        rest.append((tuple(p.parent_ids), p.edit_kind, p.path, p.default.model_dump_json(), tools.arch_hash(child)))
        resumed.observe(f"e{step + 1:04d}", child, fake_result(child))
    assert rest == full[6:]


@pytest.mark.parametrize("strategy", ["random", "evolution", "agentic"])
def test_decisions_never_depend_on_test_metrics(strategy):
    a = drive(mlp_backbone(strategy, population=4, tournament=2), 10, test_salt="one")
    b = drive(mlp_backbone(strategy, population=4, tournament=2), 10, test_salt="two")
    assert a == b


def test_proposals_avoid_structures_already_seen():
    hashes = [d[-1] for d in drive(mlp_backbone("evolution", population=4, tournament=2), 16)]
    assert len(set(hashes)) == len(hashes)


def test_evolution_parents_come_from_the_aging_population_once_it_is_full():
    backbone = mlp_backbone("evolution", population=4, tournament=2)
    drive(backbone, 6)  # the seed and 5 warm-up children
    window = [e.id for e in backbone.archive.population.members]
    p = backbone.propose(6)
    assert "tournament" in p.note and p.parent_ids[0] in window
    assert len(window) == 4 and backbone.archive.entries[0].id not in window  # the oldest aged out


def test_bad_backbone_input_is_one_line():
    with pytest.raises(SearchError, match="unknown strategy 'greedy'"):
        make_strategy("greedy", 0, [tools.seeds.mlp()], MLP_SHAPE)  # type: ignore[arg-type]
    with pytest.raises(SearchError, match="at least one seed"):
        make_strategy("random", 0, [], MLP_SHAPE)
    with pytest.raises(SearchError) as err:
        make_strategy("random", 0, [tools.seeds.mnist1d_cnn()], (3, 2))
    assert "seed 0 is invalid" in str(err.value) and "\n" not in str(err.value)


def test_constraint_rejections_are_counted_and_never_join_the_population():
    backbone = mlp_backbone("evolution", population=4, tournament=2)
    p = backbone.propose(0)
    backbone.observe("e0001", p.parent_arch, Result(status="failed", failure="constraint",
                                                    error="15,210 parameters > max 1,000"))
    assert backbone.counts()["rejected"] == 1 and len(backbone.archive.population) == 0 and backbone.best() is None


def test_agentic_with_restarts_climbs_from_its_best_and_restarts_at_a_local_optimum():
    """With `restarts` the agentic backbone is local search with restarts: each step a fresh
    neighbour of the current climb's best; once all of its neighbours are seen, random samples
    start a new climb, which never climbs back into the old one. No structure is paid twice."""
    def score(arch: tools.Arch) -> float:  # 3x3 convs on the paths that matter; peak: all six
        function = tools.ops.nb201.canonical_cell(arch.root.params["cell"])  # same for equivalent cells
        return function.count("nor_conv_3x3") / peak

    peak = tools.ops.nb201.canonical_cell("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|"
                                          "nor_conv_3x3~1|nor_conv_3x3~2|").count("nor_conv_3x3")

    backbone = make_strategy("agentic", 3, [tools.seeds.by_name("nb201")], (3, 32, 32), config=SearchConfig(restarts=4))
    hashes, climb, restarts, climbed = [], [], [], 0
    for step in range(150):
        p = backbone.propose(step)
        child = p.parent_arch if p.default is None else tools.apply(p.parent_arch, p.default)
        best = max(climb, key=lambda c: (c[1], -c[2])) if climb else None  # (id, score, step, arch)
        if "local optimum" in p.note:
            neighbours = {tools.arch_hash(tools.apply(best[3], e)) for e in tools.legal_edits(best[3], (3, 32, 32))}
            assert neighbours <= set(hashes)  # a climb ends only when its best has nothing unseen
            restarts.append(step)
            climb = []
        elif " from its best " in p.note:
            assert p.parent_ids == [best[0]]  # always from the current climb's (earliest) best
            climbed += 1
        else:
            assert step == 0 or "starts from random samples" in p.note and (not restarts or step - restarts[-1] < 4)
        hashes.append(tools.arch_hash(child))
        candidate_id = f"e{step + 1:04d}"
        backbone.observe(candidate_id, child, Result(status="ok", val_accuracy=score(child), params=1000))
        climb.append((candidate_id, score(child), step, child))
    assert len(restarts) >= 2 and climbed > 100
    assert backbone.best().score == 1.0  # some climb reached the peak
    assert len(set(hashes)) == len(hashes)


def test_an_edit_reached_by_a_random_walk_teaches_nothing_about_edits():
    """A restart sample is its parent plus several random edits: the parent's score says
    nothing about what the last edit did, so it must not steer which changes the menu favours."""
    backbone = make_strategy("agentic", 0, [tools.seeds.by_name("nb201")], (3, 32, 32),
                             config=SearchConfig(restarts=5, focus=True))
    walked = taught = 0
    for step in range(60):
        p = backbone.propose(step)
        child = p.parent_arch if p.default is None else tools.apply(p.parent_arch, p.default)
        before = sum(backbone.moves.what_uses.values()), sum(backbone.moves.kind_uses.values())
        backbone.observe(f"e{step + 1:04d}", child, fake_result(child))
        after = sum(backbone.moves.what_uses.values()), sum(backbone.moves.kind_uses.values())
        if p.walk:
            walked += 1
            assert after == before, p.note
        elif p.parent_ids:
            taught += after == (before[0] + 1, before[1] + 1)
    assert walked >= 5 and taught >= 20  # restarts happened, and climb steps did count


@pytest.mark.parametrize("strategy", ["random", "evolution", "agentic"])
def test_supersede_ranks_a_retrained_candidate_by_its_better_estimate(strategy):
    """A promotion retrains a candidate at full fidelity: the strategy must rank it by that result."""
    seeds = [tools.seeds.mlp(), tools.seeds.mnist1d_cnn()]
    search = make_strategy(strategy, 0, seeds, (1, 40))
    for step, (exp, val) in enumerate([("e0001", 0.6), ("e0002", 0.7)]):
        search.propose(step)
        search.observe(exp, seeds[step], Result(status="ok", val_accuracy=val, params=1000 * (step + 1), fidelity=0.5))
    assert search.best().id == "e0002"
    assert search.supersede("e0001", Result(status="ok", val_accuracy=0.9, params=1000, fidelity=1.0))
    assert search.best().id == "e0001" and search.best().result.fidelity == 1.0
    elites = {e.id: e.score for e in search.archive.grid.elites.values()}
    assert elites.get("e0001") == 0.9 and [e.id for e in search.archive.pareto.members][0] == "e0001"
    assert not search.supersede("e9999", Result(status="ok", val_accuracy=0.9, fidelity=1.0))
    assert not search.supersede("e0002", Result(status="failed", failure="crashed", fidelity=1.0))
