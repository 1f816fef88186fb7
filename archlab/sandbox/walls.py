"""One executor's sandbox: the label-free data, the grader, the jail (or why there is none), the policy.

Built once per executor (and once per Ray actor, on its node) and shared by
its slots. It decides, at start, whether zygotes run inside bubblewrap; when
they cannot, it says so in one line and from then on refuses requests that
would run model-written code (mining, trees with mined ops) as `sandbox`
failures, unless the person explicitly accepted the weaker isolation
(`unsafe_sandbox=True`, the CLI's ``--unsafe-sandbox``). Trees of built-in ops
still train: no model-written code runs for them.
"""

from __future__ import annotations

import dataclasses
import shutil
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from archlab.errors import one_line
from archlab.records import Result
from archlab.sandbox import jail
from archlab.sandbox.costs import used_mined
from archlab.sandbox.data import hold_out, load_splits, save_label_free
from archlab.sandbox.grading import Grader, Labels
from archlab.sandbox.jail import Launch
from archlab.sandbox.process import WorkerStartError
from archlab.sandbox.requests import EvalRequest, Holdout, Limits
from archlab.sandbox.tasks import Task
from archlab.sandbox.wire import ZygoteConfig

UNSAFE_FLAG = "--unsafe-sandbox"


def print_notice(line: str) -> None:
    """Default for `Sandbox.notice`: one line on stderr."""
    print(line, file=sys.stderr, flush=True)


@dataclass
class Sandbox:
    """What every slot of one executor shares."""

    task: Task
    root: Path
    device: str
    limits: Limits
    grader: Grader
    data_file: Path
    jailed: bool
    why_not: str  # empty when jailed
    unsafe: bool
    isolate_network: bool
    holdout: Holdout | None = None  # a holdout variant: this sandbox's data lacks those training samples
    _variants: dict[Holdout, "Sandbox"] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def isolation(self) -> str:
        """One line for people: which walls stand."""
        if self.jailed:
            return "bubblewrap jail (no network, no other processes, read-only system, unprivileged)"
        weaker = "own session, scrubbed environment, audit hook" + (", no network" if self.isolate_network else "")
        return f"no OS jail ({self.why_not}); weaker isolation: {weaker}"

    def launch(self, worker: str) -> Launch:
        """How to start one zygote; `worker` names its plain-mode scratch folder."""
        if self.jailed:
            return jail.jailed(self.data_file.parent, self.root / "views", self.limits.threads,
                               gpu=self.device.startswith("cuda"))
        scratch = self.root / worker
        scratch.mkdir(parents=True, exist_ok=True)
        return jail.plain(self.data_file, scratch, self.limits.threads, self.isolate_network)

    def config(self, launch: Launch) -> ZygoteConfig:
        task = self.task.model_copy(update={"data_file": launch.data_file})
        return ZygoteConfig(task=task.model_dump(mode="json"), device=self.device, memory_mb=self.limits.memory_mb,
                            threads=self.limits.threads, scratch_root=launch.scratch_root,
                            private_namespaces=launch.jailed, watch=launch.watch, read_roots=launch.read_roots,
                            processes=launch.processes, open_files=jail.OPEN_FILES, file_mb=jail.SCRATCH_MB)

    def for_request(self, req: EvalRequest) -> "Sandbox":
        """The sandbox `req` runs in: this one, or for a holdout request a variant whose label-free data
        leaves the held-out samples out of training (made once per holdout, in its own folder, so that
        its jail never holds their labels). DataError (one line) for an impossible holdout."""
        if req.holdout is None or self.holdout is not None:
            return self
        with self._lock:
            if req.holdout not in self._variants:
                self._variants[req.holdout] = self._variant(req.holdout)
            return self._variants[req.holdout]

    def _variant(self, holdout: Holdout) -> "Sandbox":
        assert self.task.data_file is not None
        splits = hold_out(load_splits(Path(self.task.data_file), self.task.val_fraction, self.task.split_seed),
                          holdout.seed, holdout.size)
        root = self.root / f"holdout-{holdout.seed}-{holdout.size}"
        root.mkdir(mode=0o711)
        data_file = save_label_free(splits, root / "data" / "task.npz")
        return dataclasses.replace(self, root=root, grader=Grader(self.task, Labels.from_splits(splits), root),
                                   data_file=data_file, holdout=holdout, _variants={}, _lock=threading.Lock())

    def refusal(self, req: EvalRequest) -> Result | None:
        """A `sandbox` failure for model-written code when there is no jail and no explicit consent."""
        if self.jailed or self.unsafe or not runs_model_code(req):
            return None
        return Result(status="failed", failure="sandbox", fidelity=req.fidelity,
                      error=f"refused to run model-written code without the OS jail ({self.why_not}); "
                            f"pass {UNSAFE_FLAG} (unsafe_sandbox=True) to run it with weaker isolation")


def runs_model_code(req: EvalRequest) -> bool:
    """Mining, or a tree whose nodes use mined ops (building it runs their source)."""
    if req.kind == "mine":
        return True
    from archlab.tools import Arch

    try:
        return bool(used_mined(Arch.model_validate(req.arch)))
    except ValueError:  # ArchError: a malformed tree is reported as invalid, it runs nothing
        return False


def open_sandbox(task: Task, root: Path, *, device: str, limits: Limits, jail_mode: bool | None,
                 unsafe_sandbox: bool, isolate_network: bool | None,
                 notice: Callable[[str], None] | None = print_notice) -> Sandbox:
    """Prepare `root` (label-free data, grader) and decide on the jail; says in one line when there is none.

    `jail_mode`: None uses bubblewrap when it works here, True requires it
    (WorkerStartError otherwise), False turns it off (tests of the fallback).
    """
    if task.data_file is None:
        raise WorkerStartError(f"task {task.name} has no data file to train on")
    splits = load_splits(Path(task.data_file), task.val_fraction, task.split_seed)
    data_file = save_label_free(splits, root / "data" / "task.npz")
    grader = Grader(task, Labels.from_splits(splits), root)
    why_not = ""
    if jail_mode is False:
        why_not = "turned off by the caller"
    else:
        why_not = jail.probe(data_file.parent, root / "views") or ""
        shutil.rmtree(root / "views", ignore_errors=True)
        if why_not and jail_mode:
            raise WorkerStartError(f"the sandbox jail is required but unavailable: {why_not}")
    if isolate_network is None:
        isolate_network = bool(why_not) and _unshare_works()
    sandbox = Sandbox(task=task, root=root, device=_resolve_device(device), limits=limits, grader=grader,
                      data_file=data_file, jailed=not why_not, why_not=why_not, unsafe=unsafe_sandbox,
                      isolate_network=bool(isolate_network))
    if why_not and notice is not None:
        policy = ("model-written code runs anyway (--unsafe-sandbox)" if unsafe_sandbox else
                  f"model-written code will be refused; pass {UNSAFE_FLAG} to run it with weaker isolation")
        notice(f"archlab sandbox: {one_line(why_not, 200)}: no OS jail; {policy}")
    return sandbox


def _resolve_device(device: str) -> str:
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _unshare_works() -> bool:
    """Whether ``unshare -rn`` works here (the fallback's network namespace)."""
    import subprocess

    if shutil.which("unshare") is None:
        return False
    try:
        return subprocess.run(["unshare", "-rn", "true"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False
