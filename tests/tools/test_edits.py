"""The edit menu: what it offers, how entries are filled, and what apply refuses."""

import random

import pytest
import torch

from archlab.tools import (EDIT_KINDS, Arch, Domain, Edit, EditError, Node, apply, arch_hash, build,
                           legal_edits, seeds, validate)

CNN_SHAPE = (1, 40)


def _seq(*children):
    return Arch(root=Node(op="seq", children=list(children)))


def test_the_cnn_menu_offers_every_structural_kind():
    kinds = {e.kind for e in legal_edits(seeds.mnist1d_cnn(), CNN_SHAPE, donor=seeds.mlp())}
    assert kinds == set(EDIT_KINDS) - {"cell_edge", "swap_norm"}  # the seed has no norm and no NB201 cell


def test_kernel_domain_is_exactly_what_the_length_allows():
    # conv(valid, k3, stride 2) on length 12 -> length 5; the second conv (valid) may use kernels <= 5.
    arch = _seq(Node(op="conv", params={"kernel": 3, "stride": 2, "padding": "valid"}),
                Node(op="conv", params={"kernel": 3, "padding": "valid"}))
    kernel = next(e for e in legal_edits(arch, (1, 12), kinds=["set_param"], path="root.1")
                  if e.fixed["param"] == "kernel")
    assert kernel.free["kernel"].values == [1, 5]
    assert kernel.describe() == "set_param root.1 conv.kernel in {1,5}"


def test_width_change_is_refused_where_a_parallel_add_needs_equal_shapes():
    a, b = Node(op="conv", params={"out_channels": 8}), Node(op="conv", params={"out_channels": 8})
    arch = _seq(Node(op="parallel", children=[a, b]))
    widths = [e for e in legal_edits(arch, (1, 10), kinds=["set_param"], path="root.0.0")
              if e.fixed["param"] == "out_channels"]
    assert widths == []  # any other width breaks the add merge
    merge = legal_edits(arch, (1, 10), kinds=["set_param"], path="root.0")
    assert [e.free["merge"].values for e in merge] == [["concat"]]


def test_fill_checks_names_and_domains_in_one_line():
    edit = next(e for e in legal_edits(seeds.mnist1d_cnn(), CNN_SHAPE, kinds=["set_param"], path="root.0")
                if e.fixed["param"] == "kernel")
    with pytest.raises(EditError, match=r"kernel=11 is outside its domain \{1,3,7,9\}"):
        edit.fill({"kernel": 11})
    with pytest.raises(EditError, match="no free parameter 'stride'"):
        edit.fill({"stride": 1})
    with pytest.raises(EditError, match="missing value for 'kernel'"):
        edit.fill({})
    with pytest.raises(EditError, match="outside its domain"):
        edit.fill({"kernel": True})
    filled = edit.fill({"kernel": 7})
    assert filled.is_filled and not edit.is_filled
    assert filled.describe() == "set_param root.0 conv.kernel=7"


def test_apply_refuses_unfilled_and_off_menu_edits():
    arch = seeds.mnist1d_cnn()
    edit = next(e for e in legal_edits(arch, CNN_SHAPE, kinds=["set_param"], path="root.0")
                if e.fixed["param"] == "kernel")
    with pytest.raises(EditError, match="not filled"):
        apply(arch, edit)
    forged = Edit(kind="set_param", path="root.0", fixed={"op": "conv", "param": "kernel", "kernel": 41},
                  input_shape=[1, 40])
    with pytest.raises(EditError, match="not on the legal menu"):
        apply(arch, forged)
    with pytest.raises(EditError, match="not on the legal menu"):
        apply(arch, Edit(kind="remove", path="root.9", input_shape=[1, 40]))
    with pytest.raises(EditError, match="apply needs an Edit"):
        apply(arch, {"kind": "remove"})  # type: ignore[arg-type]


def test_apply_without_a_known_shape_still_validates_structure():
    bad = Edit(kind="set_param", path="root.0", fixed={"op": "conv", "param": "kernel", "kernel": "wide"})
    with pytest.raises(EditError, match="gives an invalid tree: root.0: conv params: kernel"):
        apply(seeds.mnist1d_cnn(), bad)
    with pytest.raises(EditError, match="no node at root.4.2"):
        apply(seeds.mnist1d_cnn(), Edit(kind="wrap_residual", path="root.4.2"))


def test_each_kind_does_what_its_name_says():
    arch, rng = seeds.mnist1d_cnn(), random.Random(0)

    def first(kind, **fixed):
        menu = legal_edits(arch, CNN_SHAPE, kinds=[kind], donor=seeds.mlp())
        return next(e for e in menu if all(e.fixed.get(k) == v for k, v in fixed.items())).sample(rng)

    inserted = apply(arch, first("insert", op="norm"))
    assert len(inserted.root.children) == 8 and any(c.op == "norm" for c in inserted.root.children)
    removed = apply(arch, first("remove"))
    assert len(removed.root.children) == 6
    wrapped = apply(arch, first("wrap_residual"))
    assert wrapped.root.children[0].op == "residual"
    branched = apply(arch, first("add_branch", merge="concat"))
    assert any(c.op == "parallel" for c in branched.root.children)
    swapped = apply(arch, first("swap_act"))
    assert swapped.root.children[1].params["fn"] != "relu"
    replaced = apply(arch, first("replace", op="sepconv"))
    assert replaced.root.children[0].op == "sepconv"
    crossed = apply(arch, first("crossover"))
    assert arch_hash(crossed) != arch_hash(arch)
    for new in (inserted, removed, wrapped, branched, swapped, replaced, crossed):
        assert validate(new, CNN_SHAPE) == []
        assert build(new, CNN_SHAPE, 10) is not None


def test_crossover_needs_a_donor_and_grafts_its_subtrees():
    arch = seeds.mnist1d_cnn()
    assert not [e for e in legal_edits(arch, CNN_SHAPE) if e.kind == "crossover"]
    donor = Arch(root=Node(op="seq", children=[
        Node(op="residual", children=[Node(op="conv", params={"out_channels": 25, "kernel": 7})])]))
    menu = legal_edits(arch, CNN_SHAPE, kinds=["crossover"], donor=donor, path="root.2")
    assert len(menu) == 1 and "root.0" in menu[0].free["donor_path"].values
    new = apply(arch, menu[0].fill({"donor_path": "root.0"}))
    assert new.root.children[2].op == "residual"


def test_repeat_count_is_tunable_and_inner_edits_respect_every_copy():
    block = Node(op="conv", params={"out_channels": 8, "kernel": 3, "padding": "valid"})
    arch = _seq(Node(op="repeat", params={"n": 2}, children=[block]), Node(op="flatten"))
    n = next(e for e in legal_edits(arch, (1, 8), kinds=["set_param"], path="root.0"))
    assert n.free["n"].values == [1, 3]  # each copy takes 2 off the length 8: four copies leave 0
    kernels = next(e for e in legal_edits(arch, (1, 8), kinds=["set_param"], path="root.0.0")
                   if e.fixed["param"] == "kernel")
    assert kernels.free["kernel"].values == [1]  # kernel 5 twice would need length 9
    for k in kernels.free["kernel"].values:
        assert validate(apply(arch, kernels.fill({"kernel": k})), (1, 8)) == []


def test_menus_of_an_invalid_tree_or_unknown_kind_are_refused():
    bad = _seq(Node(op="conv", params={"kernel": 99, "padding": "valid"}))
    with pytest.raises(EditError, match="cannot list edits: invalid architecture: root.0: conv kernel 99"):
        legal_edits(bad, (1, 40))
    with pytest.raises(EditError, match="unknown edit kind 'mutate'"):
        legal_edits(seeds.mlp(), (1, 40), kinds=["mutate"])


def test_domain_records_are_checked():
    with pytest.raises(ValueError):
        Domain(type="int")
    assert Domain(type="float", low=0.0, high=0.5).contains(0.25)
    assert not Domain(type="int", low=1, high=4).contains(2.5)
    assert Domain.of([1, 2]).type == "int" and Domain.of(["a", 1]).type == "choice"


def test_fast_menu_records_equal_normally_built_ones():
    edit = legal_edits(seeds.mlp(), (1, 40), kinds=["set_param"])[0]
    again = Edit.model_validate_json(edit.model_dump_json())
    assert again == edit and again.free == edit.free and again.describe() == edit.describe()


def test_blocks_are_inserted_in_one_step_with_exact_domains():
    arch = seeds.mnist1d_cnn()
    blocks = [e for e in legal_edits(arch, CNN_SHAPE, kinds=["insert"], path="root.6")
              if e.fixed["op"].startswith("block:")]
    assert {e.fixed["op"] for e in blocks} == {"block:conv_norm_act", "block:res_conv", "block:repeat_conv"}
    repeat = next(e for e in blocks if e.fixed["op"] == "block:repeat_conv")
    assert repeat.describe() == ("insert root.6 block:repeat_conv out_channels in {8,16,24,32,48,64,96,128} "
                                 "kernel in {3,5,7} n in {1,2,3}")
    new = apply(arch, repeat.fill({"out_channels": 32, "kernel": 5, "n": 3}))
    assert new.root.children[6].op == "repeat" and new.root.children[6].params == {"n": 3}
    assert build(new, CNN_SHAPE, 10)(torch.randn(2, 1, 40)).shape == (2, 10)
    # on the 5-long sequence after the convs, inner edits of the repeat see all three copies
    inner = legal_edits(new, CNN_SHAPE, kinds=["set_param"], path="root.6.0.0")
    for edit in inner:
        for value in next(iter(edit.free.values())).values:
            assert validate(apply(new, edit.fill({next(iter(edit.free)): value})), CNN_SHAPE) == []
