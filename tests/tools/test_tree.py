"""The tree: seeds, JSON round-trip, validation messages, build, hash."""

import pytest
import torch

from archlab.tools import (Arch, ArchError, Node, arch_hash, build, count_params, seeds, validate)


def test_seed_parameter_counts_match_the_published_models():
    assert count_params(build(seeds.mnist1d_cnn(), (1, 40), 10)) == 5210
    assert count_params(build(seeds.mlp(), (1, 40), 10)) == 15210
    assert seeds.by_name("mlp") == seeds.mlp()


def test_unknown_seed_names_the_known_ones():
    with pytest.raises(ArchError, match="known: mlp, mnist1d_cnn"):
        seeds.by_name("resnet")


def test_json_round_trip_is_exact_and_keeps_the_hash():
    arch = seeds.mnist1d_cnn()
    again = Arch.model_validate_json(arch.model_dump_json())
    assert again == arch and arch_hash(again) == arch_hash(arch)


@pytest.mark.parametrize("text, fragment", [
    ('{"root": ', "Invalid JSON"),
    ('{"root": {"op": "warp_drive"}}', "unknown op 'warp_drive' at root"),
    ('{"root": {"op": "seq", "children": [{"op": "conv"}, {"op": "nope"}]}}', "unknown op 'nope' at root.1"),
    ('[1, 2]', "bad architecture JSON"),
])
def test_malformed_json_gives_one_line(text, fragment):
    with pytest.raises(ArchError) as info:
        Arch.model_validate_json(text)
    assert fragment in str(info.value) and "\n" not in str(info.value)


def _seq(*children):
    return Arch(root=Node(op="seq", children=list(children)))


def test_impossible_shape_names_the_node_path():
    arch = _seq(Node(op="conv", params={"kernel": 3, "stride": 2, "padding": "valid"}),
                Node(op="conv", params={"kernel": 9, "padding": "valid"}))
    problems = validate(arch, (1, 12))
    assert problems == ["root.1: conv kernel 9 (dilation 1) > padded length 5"]
    with pytest.raises(ArchError, match="root.1: conv kernel 9"):
        build(arch, (1, 12), 10)


def test_bad_params_and_arity_are_reported_per_node():
    arch = _seq(Node(op="conv", params={"kernel": "big"}), Node(op="residual"),
                Node(op="act", params={"fn": "swish"}))
    problems = validate(arch, (1, 40))
    assert [p.split(":")[0] for p in problems] == ["root.0", "root.1", "root.2"]
    assert all("\n" not in p for p in problems)


def test_wrong_input_shape_is_one_line():
    assert validate(seeds.mlp(), (1, 2, 3, 4)) == [
        "input shape (1, 2, 3, 4) unsupported: use (F,), (C, L) or (C, H, W) with positive sizes"]
    with pytest.raises(ArchError, match="num_classes"):
        build(seeds.mlp(), (1, 40), 0)


def test_linear_on_a_sequence_asks_for_flatten():
    assert "linear needs vector or tokens input" in validate(_seq(Node(op="linear")), (1, 40))[0]


def test_hash_ignores_structure_that_computes_the_same_thing():
    conv, act = Node(op="conv", params={"out_channels": 8}), Node(op="act")
    flat = _seq(conv, act)
    nested = _seq(Node(op="seq", children=[conv]), Node(op="identity"), Node(op="seq", children=[act]))
    explicit = _seq(Node(op="conv", params={"out_channels": 8, "kernel": 3, "padding": "same"}),
                    Node(op="act", params={"fn": "relu"}))
    assert arch_hash(flat) == arch_hash(nested) == arch_hash(explicit)
    a, b = Node(op="conv", params={"kernel": 1}), Node(op="conv", params={"kernel": 5})
    assert arch_hash(_seq(Node(op="parallel", children=[a, b]))) == arch_hash(_seq(Node(op="parallel", children=[b, a])))
    concat = {"merge": "concat"}
    assert arch_hash(_seq(Node(op="parallel", params=concat, children=[a, b]))) != arch_hash(
        _seq(Node(op="parallel", params=concat, children=[b, a])))
    assert arch_hash(flat) != arch_hash(_seq(Node(op="conv", params={"out_channels": 16}), act))


def test_hash_ignores_json_field_order_and_the_name():
    one = Arch.model_validate_json('{"root": {"op": "conv", "params": {"kernel": 5, "stride": 1}}, "name": "a"}')
    two = Arch.model_validate_json('{"name": "b", "root": {"params": {"stride": 1, "kernel": 5}, "op": "conv"}}')
    assert arch_hash(one) == arch_hash(two)


def test_every_leaf_op_builds_and_runs_on_the_kinds_it_accepts():
    cases = [
        ((3, 16), ["conv", "sepconv", "norm", "act", "pool", "se", "attention", "gru", "dropout", "identity",
                   "gap", "flatten", "to_tokens"]),
        ((3, 8, 8), ["conv", "sepconv", "norm", "pool", "se", "gap", "to_tokens"]),
        ((12,), ["linear", "norm", "act", "dropout"]),
    ]
    for shape, ops in cases:
        for op in ops:
            params = {"heads": 1} if op == "attention" else {}
            arch = _seq(Node(op=op, params=params))
            assert validate(arch, shape) == [], (op, shape)
            out = build(arch, shape, 4)(torch.randn(2, *shape))
            assert out.shape == (2, 4)


def test_tokens_flow_through_attention_gru_and_linear():
    arch = _seq(Node(op="conv", params={"out_channels": 8}), Node(op="to_tokens"),
                Node(op="attention", params={"heads": 2}), Node(op="norm", params={"kind": "layer"}),
                Node(op="gru", params={"hidden": 6}), Node(op="linear", params={"out_features": 4}),
                Node(op="gap"))
    assert validate(arch, (1, 20)) == []
    assert build(arch, (1, 20), 3)(torch.randn(2, 1, 20)).shape == (2, 3)


def test_residual_projects_when_the_body_changes_shape():
    body = Node(op="conv", params={"out_channels": 12, "stride": 2, "padding": 1})
    arch = _seq(Node(op="residual", children=[body]))
    model = build(arch, (4, 21), 5)
    assert model(torch.randn(3, 4, 21)).shape == (3, 5)
    across = _seq(Node(op="residual", children=[Node(op="flatten")]))
    assert "no skip projection across kinds" in validate(across, (4, 21))[0]


def test_parallel_add_needs_equal_branches():
    a, b = Node(op="conv", params={"out_channels": 8}), Node(op="conv", params={"out_channels": 16})
    assert "parallel add needs equal branch outputs" in validate(_seq(Node(op="parallel", children=[a, b])), (1, 10))[0]
    concat = _seq(Node(op="parallel", params={"merge": "concat"}, children=[a, b]))
    assert validate(concat, (1, 10)) == [] and build(concat, (1, 10), 2)[0][0].dim == 1


def test_repeat_builds_independent_copies():
    block = Node(op="conv", params={"out_channels": 8, "stride": 2, "padding": 1})
    arch = _seq(Node(op="repeat", params={"n": 3}, children=[block]))
    model = build(arch, (1, 40), 10)
    assert count_params(model) == (1 * 8 * 3 + 8) + 2 * (8 * 8 * 3 + 8) + (8 * 5 * 10 + 10)
