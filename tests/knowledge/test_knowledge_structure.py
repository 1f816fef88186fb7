"""The structural view of a tree: one-line summaries, families and vectors."""

import json
import random

import numpy as np
import pytest

from archlab.knowledge import KnowledgeError, arch_family, arch_summary, edit_summary, structural_vector
from memory_builders import conv_net, mlp


def test_summary_is_one_readable_line():
    text = arch_summary(conv_net(32, 5, blocks=2, residual=True))
    assert "\n" not in text
    assert text.startswith("residual[conv1d(channels=32,kernel=5) > batchnorm > relu] > residual[")
    assert text.endswith("globalpool > linear(features=10)")


def test_long_summaries_are_cut():
    assert len(arch_summary(conv_net(blocks=40), limit=80)) == 80


def test_edit_summary_reads_like_the_coders_menu():
    from archlab import tools

    rng = random.Random(0)
    menu = tools.legal_edits(tools.seeds.mnist1d_cnn(), (1, 40))
    for edit in rng.sample(menu, 5):
        filled = edit.sample(rng)
        assert edit_summary(filled.model_dump(mode="json")) == filled.describe()
    assert edit_summary(None) == "seed"


def test_edit_summary_of_an_unknown_edit_still_names_kind_place_and_values():
    assert edit_summary({"kind": "grow", "path": "root.1", "fixed": {"op": "conv", "kernel": 7}}) \
        == "grow root.1 conv kernel=7"


def test_real_seed_trees_are_summarised_and_told_apart():
    from archlab import tools

    cnn, mlp_seed = tools.seeds.mnist1d_cnn(), tools.seeds.mlp()
    assert arch_summary(cnn).startswith("conv(out_channels=25,kernel=5")
    assert (arch_family(cnn), arch_family(mlp_seed)) == ("conv", "mlp")
    assert np.linalg.norm(structural_vector(cnn) - structural_vector(mlp_seed)) > 1


def test_swapping_an_activation_changes_the_vector():
    relu = {"op": "seq", "params": {}, "children": [{"op": "act", "params": {"fn": "relu"}, "children": []}]}
    gelu = {"op": "seq", "params": {}, "children": [{"op": "act", "params": {"fn": "gelu"}, "children": []}]}
    assert not np.array_equal(structural_vector(relu), structural_vector(gelu))


def test_family_labels():
    assert arch_family(conv_net()) == "conv"
    assert arch_family(mlp()) == "mlp"
    assert arch_family({"op": "attention", "params": {}, "children": []}) == "attention"


def test_vector_ignores_json_key_order():
    arch = conv_net(32, 5, blocks=2)
    shuffled = json.loads(json.dumps(arch, sort_keys=True))
    assert np.array_equal(structural_vector(arch, 100, 1000), structural_vector(json.dumps(shuffled), 100, 1000))


def test_vector_puts_like_near_like():
    base = structural_vector(conv_net(32, 5), 12000, 10**6)
    close = structural_vector(conv_net(32, 7), 13000, 10**6)
    far = structural_vector(mlp(256, 4), 200000, 10**7)
    assert np.linalg.norm(base - close) < np.linalg.norm(base - far)


def test_depth_counts_repeated_layers():
    once = structural_vector(conv_net(blocks=1))
    thrice = structural_vector(conv_net(blocks=3))
    assert not np.array_equal(once, thrice)


@pytest.mark.parametrize("bad", ["{not json", 42, {"name": "x"}])
def test_unreadable_trees_fail_in_one_line(bad):
    with pytest.raises(KnowledgeError) as caught:
        structural_vector(bad)
    assert "\n" not in str(caught.value)
