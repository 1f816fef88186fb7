"""The `nb201_cell` op inside the tree: edge edits, the functional hash, build and render."""

from __future__ import annotations

import random

import pytest
import torch

from archlab import tools
from archlab.tools.ops.nb201 import cell_source, parse_cell

BEST = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
SHAPE = (3, 32, 32)


def cell(text: str, **params) -> tools.Arch:
    return tools.Arch.model_validate({"root": {"op": "nb201_cell", "params": {"cell": text, **params}}})


def test_legal_edits_change_exactly_one_edge_to_each_other_op():
    menu = tools.legal_edits(cell(BEST), SHAPE, kinds=["cell_edge"])
    assert len(menu) == 24 and all(e.is_filled for e in menu)
    for edit in menu:
        before, after = parse_cell(BEST), parse_cell(tools.apply(cell(BEST), edit).root.params["cell"])
        changed = [i for i in range(6) if before[i] != after[i]]
        assert len(changed) == 1 and after[changed[0]] == edit.fixed["op"]
    assert "cell_edge root nor_conv_1x1 edge=0->1" in [e.describe() for e in menu]


def test_an_edit_off_the_menu_is_refused_in_one_line():
    bogus = tools.Edit(kind="cell_edge", path="root", fixed={"op": "nor_conv_3x3", "edge": "0->1"})  # already conv
    with pytest.raises((tools.EditError, tools.ArchError)) as err:
        tools.apply(cell(BEST), bogus)
    assert "\n" not in str(err.value)


def test_a_malformed_cell_is_reported_in_one_line():
    arch = cell("|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|")
    problems = tools.validate(arch, SHAPE)
    assert len(problems) == 1 and "unknown op 'conv'" in problems[0]
    with pytest.raises(tools.ArchError) as err:
        tools.build(arch, SHAPE, 10)
    assert "unknown op 'conv'" in str(err.value) and "\n" not in str(err.value)


def test_arch_hash_merges_equivalent_cells_only():
    dead_in = "|none~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|skip_connect~0|avg_pool_3x3~1|nor_conv_3x3~2|"
    dead_out = "|none~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
    assert tools.arch_hash(cell(dead_in)) == tools.arch_hash(cell(dead_out))
    assert tools.arch_hash(cell(BEST)) != tools.arch_hash(cell(dead_in))
    assert tools.arch_hash(cell(BEST)) != tools.arch_hash(cell(BEST, channels=8))  # a different network


def test_build_and_render_give_the_same_network():
    arch = cell(BEST, channels=4, cells_per_stage=1)  # small: the full network is 1.07M parameters
    assert tools.validate(arch, SHAPE) == []
    torch.manual_seed(0)
    built = tools.build(arch, SHAPE, 10).eval()
    module = tools.load_rendered(tools.render(arch, SHAPE, 10))
    torch.manual_seed(0)
    rendered = module.build_model().eval()
    x = torch.randn(2, *SHAPE, generator=torch.Generator().manual_seed(1))
    assert tools.count_params(built) == tools.count_params(rendered)
    assert torch.allclose(built(x), rendered(x))
    assert built(x).shape == (2, 10)


def test_a_cut_off_cell_still_builds_and_outputs_a_constant_per_class():
    cut = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|none~0|none~1|none~2|"
    model = tools.build(cell(cut, channels=4, cells_per_stage=1), SHAPE, 10).eval()
    x = torch.randn(3, *SHAPE, generator=torch.Generator().manual_seed(random.Random(0).randrange(99)))
    out = model(x)
    assert torch.allclose(out[0], out[1]) and torch.allclose(out[1], out[2])  # the input cannot reach the head


def test_a_cell_needs_an_image_input():
    problems = tools.validate(cell(BEST), (40,))
    assert problems and "image" in problems[0]


def test_the_coder_reads_the_six_choices_with_dead_edges_marked():
    cell = "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|none~2|"
    source = cell_source(cell)
    assert len(source.splitlines()) < 10  # not the hundreds of lines of the rendered network
    assert "node3 = nor_conv_1x1(node0) + skip_connect(node1) + none(node2)" in source
    node2 = next(line for line in source.splitlines() if line.strip().startswith("node2"))
    assert "dead" in node2  # node2 feeds only `none`: its edges change nothing
    live = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
    assert "dead" not in cell_source(live)
