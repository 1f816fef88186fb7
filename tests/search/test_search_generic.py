"""The search is generic: no strategy's code names a modality, a benchmark or an op family.

Design priors (a conv front for signals and images, ...) live in the knowledge room's
principles library and reach the search only through the model's choice; a closed cell space
is recognised from the op table. Comments and docstrings may cite where a setting was measured.
"""

from __future__ import annotations

import ast
from pathlib import Path

import archlab.search

FORBIDDEN = ("mnist", "nb201", "nas_bench", "cifar", "imagenet", "image", "signal", "1d", "2d",
             "conv", "maxpool", "avgpool", "max_pool", "avg_pool", "linear", "flatten", "stem", "deepen", "downsample", "widen", "make_room")


def _code_words(path: Path) -> list[str]:
    """Identifiers and string constants of a module, docstrings left out."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    words = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            words.append(node.id)
        elif isinstance(node, ast.Attribute):
            words.append(node.attr)
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            words.append(node.name)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            words.append(node.value)
    return [w.lower() for w in words]


def test_no_strategy_code_names_a_modality_benchmark_or_op_family():
    found = []
    for path in sorted(Path(archlab.search.__file__).parent.glob("*.py")):
        for word in _code_words(path):
            found += [f"{path.name}: {word!r}" for bad in FORBIDDEN if bad in word]
    assert found == []


def test_the_staged_plan_is_gone():
    assert not (Path(archlab.search.__file__).parent / "stages.py").exists()


# ---- one move set, budget-scaled evolution ------------------------------------------------------

import pytest  # noqa: E402

from archlab import tools  # noqa: E402
from archlab.records import Constraints, Result  # noqa: E402
from archlab.search import make_strategy  # noqa: E402
from archlab.search.population import population_for  # noqa: E402


def _score(arch) -> Result:
    import hashlib

    digest = hashlib.sha256(tools.arch_hash(arch).encode()).digest()
    # convolutional trees score higher, as they would on signals and images
    bonus = 0.3 if '"conv' in arch.model_dump_json() else 0.0
    return Result(status="ok", val_accuracy=0.3 + digest[0] / 1000 + bonus, test_accuracy=0.5, params=1000)


def test_evolution_population_scales_with_the_budget():
    assert population_for(30) == (6, 3) and population_for(60) == (12, 6)
    assert population_for(1000) == (20, 10) and population_for(None) == (20, 5)
    search = make_strategy("evolution", 0, [tools.seeds.mlp()], (40,), max_evals=30)
    notes = [search.propose(i).note for i in range(1)]
    for step in range(12):
        p = search.propose(step)
        child = p.parent_arch if p.default is None else tools.apply(p.parent_arch, p.default)
        search.observe(f"e{step + 1:04d}", child, _score(child))
        notes.append(p.note)
    assert sum("warm-up" in n for n in notes) <= 6 and any("tournament of 3" in n for n in notes)


@pytest.mark.parametrize("shape", [(1, 40), (1, 12, 12)], ids=["sequence", "image"])
@pytest.mark.parametrize("strategy", ["random", "evolution", "agentic"])
def test_every_strategy_draws_from_the_macro_menu_and_reaches_a_conv_front(strategy, shape):
    budget = tools.SizeBudget(max_params=25_000, num_classes=10)
    search = make_strategy(strategy, 3, [tools.seeds.mlp()], shape, constraints=Constraints(max_params=25_000),
                           num_classes=10, max_evals=30)
    convs = 0
    for step in range(30):
        p = search.propose(step)
        if p.default is not None:
            legal = tools.legal_edits(p.parent_arch, shape, macros=True, budget=budget)
            assert p.default.kind == "crossover" or any((m.kind, m.path) == (p.default.kind, p.default.path)
                                                        for m in legal)  # a crossover needs its donor
            child = tools.apply(p.parent_arch, p.default)
        else:
            child = p.parent_arch
        convs += '"conv' in child.model_dump_json()
        search.observe(f"e{step + 1:04d}", child, _score(child))
    assert convs > 0  # a conv front is one legal move away under the cap, for every strategy
