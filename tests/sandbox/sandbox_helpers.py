"""Candidate trees for the sandbox tests: seeds, and mined ops whose code misbehaves on purpose.

Mined ops carry their source inside the tree (as the coder agent's mined
modules do), so these exercise the real path by which candidate code reaches a
worker: no test-only switch exists in the shipped code.
"""

from __future__ import annotations

import textwrap

from archlab.sandbox.requests import EvalRequest, Limits
from archlab.tools import Arch, MinedOp, Node, seeds

SECRET_NAME = "ARCHLAB_TEST_SECRET_API_KEY"  # set while the test pool starts; workers must not see it


def request(arch: Arch | dict, exp_id: str = "t", steps: int = 20, **kw) -> EvalRequest:
    """A tiny-budget MNIST-1D request (fidelity 1 of a `steps`-step recipe)."""
    tree = arch.model_dump(mode="json") if isinstance(arch, Arch) else arch
    overrides = {"steps": steps, "eval_every": max(1, steps // 2), **kw.pop("recipe_overrides", {})}
    return EvalRequest(exp_id=exp_id, arch=tree, task="mnist1d", recipe_overrides=overrides, **kw)


def cnn() -> Arch:
    return seeds.mnist1d_cnn()


def mined(forward_body: str, init_body: str = "", module_body: str = "", name: str = "Probe") -> Arch:
    """A tree `seq[mined op, flatten]` whose mined op runs `forward_body` in forward (x is the input)."""
    def block(code: str, depth: int) -> list[str]:
        return [" " * depth + line for line in textwrap.dedent(code).strip("\n").splitlines()]

    lines = ["import os, socket, math", "import torch", "from torch import nn",
             *block(module_body, 0),
             f"class {name}(nn.Module):",
             "    def __init__(self):",
             "        super().__init__()",
             "        self.scale = nn.Parameter(torch.ones(1))",
             *block(init_body, 8),
             "    def forward(self, x):",
             *block(forward_body, 8),
             "        return x * self.scale"]
    source = "\n".join(lines) + "\n"
    op = MinedOp(name=f"mined.{name}", class_name=name, source=source, kinds=["seq"])
    return Arch(root=Node(op="seq", children=[Node(op=f"mined.{name}"), Node(op="flatten")]),
                mined={op.name: op})


def quick_limits(time_s: float = 60.0, memory_mb: int = 1024) -> Limits:
    return Limits(time_s=time_s, memory_mb=memory_mb, threads=1)


def descendants(roots: list[int]) -> list[int]:
    """Every process below `roots` on this machine, read from /proc: checks from outside the jail."""
    from archlab.sandbox.procfs import process_tree

    return [pid for root in roots for pid in process_tree(root)]


def spawn_source(mark: str) -> str:
    """Module-level code defining `spawn(code, setsid=False)` and `spawn_argv(argv, setsid=False)`: start a
    program through `_posixsubprocess.fork_exec`, which no audit hook sees (how an attacker gets past it).
    Every process it starts carries `mark` in its command line, so tests can find it from outside."""
    return textwrap.dedent('''
    import _posixsubprocess, sys
    def spawn_argv(argv, setsid=False):
        """Start a program without the audited subprocess/os paths: the hook never sees it."""
        r, w = os.pipe()
        pid = _posixsubprocess.fork_exec(argv, [os.fsencode(argv[0])], True, (w,), None, None,
                                         -1, -1, -1, -1, -1, -1, r, w, True, setsid, -1, None, None, None, -1,
                                         None, False)
        os.close(w)
        err = b""
        while chunk := os.read(r, 4096):  # the failed child may write its error in pieces
            err += chunk
        os.close(r)
        if err:
            os.waitpid(pid, 0)
            raise OSError(err.decode(errors="replace"))
        return pid
    def spawn(code, setsid=False):
        """An unhooked Python inside the jail, running `code`."""
        return spawn_argv([sys.executable, "-c", code, "MARK"], setsid)
''').replace("MARK", mark)
