"""The sandbox's policy and lifecycle: no jail means no model-written code, weights leave checked, clean deaths."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from archlab.sandbox import EvalRequest, make_executor
from archlab.sandbox import scratch as scratch_roots
from archlab.sandbox.costs import TrustedCosts
from archlab.sandbox.weights import WeightsError, check_weights
from archlab.tools import seeds
from sandbox_helpers import cnn, descendants, mined, request, spawn_source

MODULE = ("import torch\nfrom torch import nn\n\nclass Gate(nn.Module):\n    def __init__(self, channels: int = 1):\n"
          "        super().__init__()\n        self.w = nn.Parameter(torch.ones(channels, 1))\n\n"
          "    def forward(self, x):\n        return x * torch.sigmoid(self.w)\n")


@pytest.fixture(scope="module")
def unjailed(cache_dir):
    """The fallback, forced: what a machine without user namespaces gets."""
    notices: list[str] = []
    executor = make_executor("mnist1d", workers=1, cache_dir=cache_dir, device="cpu", jail=False,
                             notice=notices.append)
    executor.notices = notices
    yield executor
    executor.close()


def test_without_a_jail_the_executor_says_so_in_one_line(unjailed):
    assert len(unjailed.notices) == 1 and "\n" not in unjailed.notices[0]
    assert "no OS jail" in unjailed.notices[0] and "--unsafe-sandbox" in unjailed.notices[0]
    assert not unjailed.jailed and "no OS jail" in unjailed.isolation


def test_without_a_jail_model_written_code_is_refused_and_built_in_trees_still_train(unjailed):
    trained = unjailed.submit(request(seeds.mlp(), steps=5)).result(timeout=300)
    assert trained.ok and trained.val_accuracy is not None, trained.error
    tree = unjailed.submit(request(mined("pass"))).result(timeout=300)
    mine = unjailed.submit(EvalRequest(exp_id="m", arch={}, task="mnist1d", kind="mine", source=MODULE)).result(
        timeout=300)
    for refused in (tree, mine):
        assert refused.failure == "sandbox" and "--unsafe-sandbox" in refused.error
        assert "\n" not in refused.error and refused.steps == 0


def test_unsafe_sandbox_runs_model_written_code_with_the_weaker_walls(cache_dir):
    notices: list[str] = []
    mark = f"archlab-fallback-{os.getpid()}"
    with make_executor("mnist1d", workers=1, cache_dir=cache_dir, device="cpu", jail=False, unsafe_sandbox=True,
                       notice=notices.append) as executor:
        assert "runs anyway" in notices[0]
        result = executor.submit(request(mined("pass"), steps=5)).result(timeout=300)
        assert result.ok, result.error
        refused = executor.submit(request(mined("os.system('true')"))).result(timeout=300)
        assert refused.failure == "sandbox"  # the audit hook still stands
        spinner = mined("pass", init_body="spawn('while True: pass', setsid=True)", module_body=spawn_source(mark))
        left = executor.submit(request(spinner, steps=5)).result(timeout=300)
        assert left.failure == "sandbox" and "left a process running" in left.error, left.error
        assert not _marked(mark)  # without a pid namespace the zygote still kills what the child left
        again = executor.submit(request(seeds.mlp(), steps=5)).result(timeout=300)
        assert again.ok, again.error


def test_an_executor_that_requires_the_jail_fails_in_one_line_when_there_is_none(cache_dir, monkeypatch):
    from archlab.sandbox import jail
    from archlab.sandbox.process import WorkerStartError

    monkeypatch.setattr(jail.shutil, "which", lambda name: None)  # as if bubblewrap were not installed
    with pytest.raises(WorkerStartError, match="bubblewrap .* is not installed") as err:
        make_executor("mnist1d", workers=1, cache_dir=cache_dir, jail=True, notice=None)
    assert "\n" not in str(err.value)


# ---- trained weights leave the sandbox as checked safetensors ----------------------------------------

@pytest.fixture(scope="module")
def weights_pool(cache_dir):
    executor = make_executor("mnist1d", workers=1, cache_dir=cache_dir, device="cpu", notice=None)
    yield executor
    executor.close()


def test_trained_weights_come_back_as_checked_safetensors(weights_pool, tmp_path):
    from safetensors.numpy import load_file

    from archlab.tools import build, count_params

    target = tmp_path / "out" / "cnn.safetensors"
    result = weights_pool.submit(request(cnn(), steps=10, weights_path=str(target))).result(timeout=300)
    assert result.ok and result.weights_file == str(target), result.error
    tensors = load_file(target)
    model = build(cnn(), (1, 40), 10)
    assert {k: v.shape for k, v in tensors.items()} == {k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert sum(v.size for k, v in tensors.items() if k in dict(model.named_parameters())) == count_params(model)
    assert not np.allclose(tensors["1.weight"], model.state_dict()["1.weight"].numpy())  # trained, not fresh
    plain = weights_pool.submit(request(cnn(), steps=10)).result(timeout=300)
    assert plain.weights_file is None


def test_weights_of_a_tree_with_mined_ops_give_a_parameter_count_the_parent_counted(weights_pool, tmp_path):
    result = weights_pool.submit(request(mined("pass"), steps=5, weights_path=str(tmp_path / "w.safetensors"))
                                 ).result(timeout=300)
    assert result.ok, result.error
    assert result.params == 1 + 40 * 10 + 10  # the mined op's scale, then the head on 40 features


def test_a_weights_file_that_does_not_add_up_is_refused(tmp_path):
    from safetensors.numpy import save

    trusted = TrustedCosts(exact=True, params=30, flops=None, shapes={"w": (3, 10)})
    good = save({"w": np.zeros((3, 10), dtype=np.float32)}, metadata={"archlab.parameters": json.dumps(["w"])})
    assert check_weights(good, trusted, None, tmp_path) == 30
    bad = {
        "not valid safetensors": b"\x00" * 64,
        "tensors differ": save({"w": np.zeros((3, 11), dtype=np.float32)},
                               metadata={"archlab.parameters": json.dumps(["w"])}),
        "does not name its parameters": save({"w": np.zeros((3, 10), dtype=np.float32)}),
        "missing": b"",
    }
    for says, data in bad.items():
        with pytest.raises(WeightsError, match=says):
            check_weights(data, trusted, None, tmp_path)
    lower = TrustedCosts(exact=False, params=30, flops=None, shapes={"w": (3, 10)})
    with pytest.raises(WeightsError, match="claimed 1"):
        check_weights(good, lower, 1, tmp_path)


# ---- clean deaths -------------------------------------------------------------------------------------

def test_a_new_executor_removes_scratch_roots_whose_owner_is_gone(cache_dir, tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / "archlab-sandbox-stale"
    stale.mkdir()
    (stale / "owner.json").write_text(json.dumps({"pid": int(dead.stdout), "start": 1}))
    mine = scratch_roots.make_root(parent=tmp_path)  # this process's: alive, kept
    foreign = tmp_path / "archlab-sandbox-unmarked"
    foreign.mkdir()  # no owner mark: not ours to judge, kept
    from archlab.sandbox.pool import LocalExecutor
    from archlab.sandbox.tasks import load_task

    with LocalExecutor(load_task("mnist1d", cache_dir), workers=1, device="cpu", scratch_dir=tmp_path,
                       notice=None) as executor:
        assert executor.stale_removed == [stale] and not stale.exists()
        assert mine.exists() and foreign.exists() and executor.scratch_root.exists()
    assert not executor.scratch_root.exists()  # a clean close removes its own root


def test_jails_die_with_the_process_that_started_them(cache_dir, tmp_path):
    script = textwrap.dedent(f'''
        import sys, time
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from archlab.sandbox import make_executor
        ex = make_executor("mnist1d", workers=2, cache_dir={str(cache_dir)!r}, device="cpu", notice=None)
        print(" ".join(str(s.zygote.proc.pid) for s in ex.slots), ex.scratch_root, flush=True)
        time.sleep(600)
    ''')
    owner = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                             env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    *pids, root = owner.stdout.readline().split()
    jail = descendants([int(p) for p in pids])
    assert len(jail) >= 4  # each slot: bubblewrap's init and the zygote
    owner.send_signal(signal.SIGKILL)
    owner.wait()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(_alive(p) for p in [*map(int, pids), *jail]):
        time.sleep(0.1)
    assert not any(_alive(p) for p in [*map(int, pids), *jail]), "a jail outlived the process that started it"
    assert Path(root).exists()  # SIGKILL leaves the scratch root; the next executor removes it
    assert Path(root) in scratch_roots.remove_stale_roots(Path(root).parent)


def _marked(mark: str) -> list[int]:
    found = []
    for name in os.listdir("/proc"):
        try:
            if name.isdigit() and mark in Path(f"/proc/{name}/cmdline").read_bytes().decode(errors="replace"):
                found.append(int(name))
        except OSError:
            continue
    return [pid for pid in found if _alive(pid) and pid != os.getpid()]


def _alive(pid: int) -> bool:
    from archlab.sandbox.procfs import stat_fields

    fields = stat_fields(pid)
    return bool(fields) and fields[0] != "Z"



def test_evaluations_may_use_several_threads(cache_dir):
    """A forked child starts its own OpenMP pool (the zygote never runs one, or the child would hang)."""
    from archlab.sandbox import Limits

    with make_executor("mnist1d", workers=1, cache_dir=cache_dir, device="cpu", limits=Limits(threads=2),
                       notice=None) as executor:
        for seed in range(2):
            result = executor.submit(request(cnn(), steps=20, seed=seed, limits=Limits(threads=2, time_s=120))
                                     ).result(timeout=300)
            assert result.ok, result.error


def test_unsafe_sandbox_travels_from_the_command_line_to_the_executor(monkeypatch, tmp_path):
    from typer.testing import CliRunner

    from archlab import cli
    from archlab.campaign import collaborators
    from archlab.campaign.config_file import read_config, settings_from
    from archlab.records import CampaignSpec

    seen: dict = {}
    monkeypatch.setattr(cli, "_run_with_view", lambda run, settings: seen.setdefault("settings", settings))
    monkeypatch.setattr(cli, "plan_spec", lambda goal, overrides, settings: CampaignSpec(goal=goal))
    assert CliRunner().invoke(cli.app, ["run", "a goal", "--unsafe-sandbox"]).exit_code == 0
    assert seen["settings"].unsafe_sandbox is True
    seen.clear()
    assert CliRunner().invoke(cli.app, ["run", "a goal"]).exit_code == 0 and seen["settings"].unsafe_sandbox is False
    config = tmp_path / "c.yaml"
    config.write_text("unsafe_sandbox: true\n")
    assert settings_from(read_config(config)).unsafe_sandbox is True

    passed: dict = {}
    monkeypatch.setattr("archlab.sandbox.make_executor", lambda *a, **kw: passed.update(kw))
    task = object()  # the task the campaign loaded once; the executor factory passes it through
    collaborators.make_campaign_executor(CampaignSpec(goal="g"), settings_from({"unsafe_sandbox": True}), task)
    assert passed["unsafe_sandbox"] is True
