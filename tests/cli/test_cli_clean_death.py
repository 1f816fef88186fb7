"""A campaign killed with `kill -9`, as a person meets it: its sandbox processes die with it, `archlab
status` says `interrupted` (not `running`) with the wall time up to its last sign of life, `archlab
resume` finishes it and its scratch folders go; `resume` on a finished campaign says so in one line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from archlab.campaign import Workspace
from archlab.campaign.stop_clock import HEARTBEAT_S
from archlab.sandbox.procfs import process_start
from cli_helpers import GOAL, archlab, archlab_done, cli_env, error_lines, tiny_config, wait_for

pytestmark = pytest.mark.slow


def descendants(pid: int) -> dict[int, int | None]:
    """Every process below `pid` now, with its start time (to tell a reused pid apart)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    below, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - below
        below |= frontier
    return {child: process_start(child) for child in below}


def still_running(processes: dict[int, int | None]) -> list[int]:
    return [pid for pid, start in processes.items() if start is not None and process_start(pid) == start]


def scratch_roots(tmp: Path) -> list[Path]:
    return sorted(tmp.glob("archlab-sandbox-*"))


def test_kill_9_leaves_no_sandbox_process_says_interrupted_and_resumes(tmp_path):
    out, tmp = tmp_path / "run", tmp_path / "tmp"
    tmp.mkdir()
    env = cli_env(TMPDIR=str(tmp))  # the executor's scratch roots land here, where the test can see them
    # Trainings longer than the wait below on a fast machine (3,000 steps: ~10 s on a 2026 Xeon core,
    # where 600 let the whole campaign end before the kill), so the kill lands mid-training.
    config = tiny_config(tmp_path, max_evals=3, workers=1, recipe={"steps": 3000, "eval_every": 1000})
    started = time.time()
    proc = archlab("run", GOAL, "--out", str(out), "--config", str(config), env=env, start_new_session=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: len(Workspace(out).finished_ids()) >= 1 if (out / "state.json").is_file() else False,
                 400, "a first finished experiment", proc)
        first_done = time.time()
        time.sleep(2 * HEARTBEAT_S + 1)  # past a checkpoint: only the heartbeat keeps the time now
        sandbox = descendants(proc.pid)
        assert sandbox, "the run has no worker processes to check"
        assert proc.poll() is None, "the run ended before it could be killed"
        roots = scratch_roots(tmp)
        assert roots, "the executor made no scratch folder"
        proc.send_signal(signal.SIGKILL)  # the CLI process alone: its jails must follow by themselves
        killed = time.time()
        proc.wait()
        wait_for(lambda: not still_running(sandbox), 10, "every sandbox process gone")
    finally:
        with_leftovers = still_running(descendants(proc.pid)) if proc.poll() is None else []
        if with_leftovers or proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)

    shown = archlab_done("status", str(out), env=env)
    assert shown.returncode == 0 and shown.stdout.startswith(f"{out}: interrupted - "), shown.stdout
    status = json.loads(archlab_done("status", str(out), "--json", env=env).stdout)
    assert status["status"] == "interrupted" and "archlab resume" in status["stop_reason"]
    state = json.loads((out / "state.json").read_text())
    assert state["status"] == "running"  # on disk the owner never said goodbye; the reader tells
    # the true wall time: at least what passed since the first result, at most since the command began,
    # and the last sign of life within a heartbeat or two of the kill
    assert killed - first_done - 2 * HEARTBEAT_S <= status["elapsed_s"] <= killed - started + 1, \
        (status["elapsed_s"], killed - first_done, killed - started)
    assert state["owner"]["beat"] >= killed - 2 * HEARTBEAT_S - 1

    resumed = archlab_done("resume", str(out), env=env)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    status = json.loads(archlab_done("status", str(out), "--json", env=env).stdout)
    assert status["status"] == "done" and status["evaluated"] == 3
    assert json.loads((out / "state.json").read_text())["sessions"] == 2
    assert not any(root.exists() for root in roots), "the killed run's scratch folders are still there"
    assert not scratch_roots(tmp), "a scratch folder outlived its run"

    again = archlab_done("resume", str(out), env=env)
    lines = error_lines(again.stdout + again.stderr)
    assert again.returncode == 0 and len(lines) == 1 and "is finished" in lines[0], again.stdout + again.stderr
    assert json.loads((out / "state.json").read_text())["sessions"] == 2  # nothing ran
