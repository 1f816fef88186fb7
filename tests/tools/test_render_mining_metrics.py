"""Rendered files stand alone; mined ops act like built-ins; metrics are real numbers."""

import random
import subprocess
import sys
import textwrap

import pytest
import torch

from archlab.tools import (Arch, ArchError, MiningError, Node, apply, arch_hash, build, count_flops,
                           count_params, legal_edits, load_rendered, measure_latency, mine, render,
                           seeds, validate, with_mined)

MINED_SOURCE = textwrap.dedent('''
    import torch
    from torch import nn


    class GatedConv(nn.Module):
        """conv(x) * sigmoid(gate(x)), keeping the length."""

        def __init__(self, in_channels, out_channels: int = 16, kernel: int = 3):
            super().__init__()
            self.conv = nn.Conv1d(in_channels, out_channels, kernel, padding=kernel // 2)
            self.gate = nn.Conv1d(in_channels, out_channels, kernel, padding=kernel // 2)

        def forward(self, x):
            return self.conv(x) * torch.sigmoid(self.gate(x))


    class Scale(nn.Module):
        def __init__(self, factor: float = 2.0):
            super().__init__()
            self.factor = factor

        def forward(self, x):
            return x * self.factor


    class Broken(nn.Module):
        def forward(self, x):
            raise RuntimeError("always fails")


    class NeedsConfig(nn.Module):
        def __init__(self, config):
            super().__init__()
''')


def test_rendered_file_runs_as_a_standalone_script(tmp_path):
    path = tmp_path / "model.py"
    path.write_text(render(seeds.mnist1d_cnn(), (1, 40), 10))
    out = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "output shape: (2, 10)" in out.stdout
    imports = [line for line in path.read_text().splitlines() if line.startswith(("import ", "from "))]
    assert imports and not any("archlab" in line for line in imports)


def test_render_of_an_invalid_tree_is_refused():
    bad = Arch(root=Node(op="conv", params={"kernel": 50, "padding": "valid"}))
    with pytest.raises(ArchError, match="root: conv kernel 50"):
        render(bad, (1, 40), 10)


def test_mining_turns_classes_into_ops_and_reports_the_rest(tmp_path):
    file = tmp_path / "blocks.py"
    file.write_text(MINED_SOURCE)
    report = mine(file)
    ops = {op.class_name: op for op in report.ops}
    assert set(ops) == {"GatedConv", "Scale"}
    gated = ops["GatedConv"]
    assert (gated.kinds, gated.channels_arg, gated.out_rule, gated.out_param) == (
        ["seq"], "in_channels", "channels_param", "out_channels")
    assert gated.params["out_channels"].values == [8, 16, 32]
    assert gated.params["kernel"].values == [1, 3]  # kernel 6 with padding 3 changes the length: dropped
    assert ops["Scale"].kinds == ["vector", "seq", "image", "tokens"] or set(ops["Scale"].kinds) == {
        "vector", "seq", "image", "tokens"}
    assert report.failures["Broken"] == "forward fails on every input kind (seq: RuntimeError: always fails)"
    assert "'config' has no default" in report.failures["NeedsConfig"]


def test_mined_ops_flow_through_edits_build_render_and_hash():
    report = mine(source=MINED_SOURCE)
    arch = with_mined(seeds.mnist1d_cnn(), *report.ops)
    menu = [e for e in legal_edits(arch, (1, 40), kinds=["insert"]) if e.fixed["op"] == "mined.GatedConv"]
    assert menu and menu[0].describe().startswith("insert root.0 mined.GatedConv out_channels in {8,16,32}")
    new = apply(arch, menu[3].sample(random.Random(1)))
    assert validate(new, (1, 40)) == []
    with pytest.raises(ArchError, match="pass allow_code=True"):
        build(new, (1, 40), 10)
    torch.manual_seed(5)
    built = build(new, (1, 40), 10, allow_code=True).eval()
    torch.manual_seed(5)
    rendered = load_rendered(render(new, (1, 40), 10)).build_model().eval()
    x = torch.randn(2, 1, 40)
    assert torch.equal(built(x), rendered(x))
    again = Arch.model_validate_json(new.model_dump_json())
    assert arch_hash(again) == arch_hash(new)
    changed_source = new.model_copy(update={"mined": {k: v.model_copy(update={"source": v.source + "\n# v2\n"})
                                                      for k, v in new.mined.items()}})
    assert arch_hash(changed_source) != arch_hash(new)


@pytest.mark.parametrize("source, message", [
    ("def broken(:\n", "source does not load: SyntaxError"),
    ("x = 1\n", "no nn.Module classes defined"),
])
def test_mining_bad_sources_gives_one_line(source, message):
    with pytest.raises(MiningError, match=message) as info:
        mine(source=source)
    assert "\n" not in str(info.value)


def test_mining_by_module_path(tmp_path, monkeypatch):
    (tmp_path / "my_blocks_for_mining.py").write_text(MINED_SOURCE)
    monkeypatch.syspath_prepend(str(tmp_path))
    assert {op.class_name for op in mine("my_blocks_for_mining").ops} == {"GatedConv", "Scale"}
    with pytest.raises(MiningError, match="cannot find"):
        mine("no_such_package_xyz.blocks")
    clash = mine("archlab.tools.runtime")  # its classes are the runtime's own names
    assert not clash.ops and "clashes with a built-in name" in clash.failures["Residual"]


def test_metrics_match_hand_counts():
    arch = Arch(root=Node(op="seq", children=[Node(op="linear", params={"out_features": 20})]))
    model = build(arch, (12,), 3)
    assert count_params(model) == 12 * 20 + 20 + 20 * 3 + 3
    assert count_flops(model, (12,)) == 2 * (12 * 20 + 20 * 3)
    cnn = build(seeds.mnist1d_cnn(), (1, 40), 10)
    # conv FLOPs = 2 * out_len * out_ch * in_ch * k; plus the head
    expected = 2 * (19 * 25 * 1 * 5 + 10 * 25 * 25 * 3 + 5 * 25 * 25 * 3 + 125 * 10)
    assert count_flops(cnn, (1, 40)) == expected
    assert cnn.training  # metrics leave the mode as they found it
    latency = measure_latency(cnn, (1, 40), repeats=5)
    assert 0 < latency < 1000
