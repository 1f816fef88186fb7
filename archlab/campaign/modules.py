"""New modules written by the coder as code, mined into leaf ops in the sandbox.

Every `every` proposals (after the seeds, agentic campaigns on trained tasks,
`write_modules` on) the campaign asks the coder for one `nn.Module`. The
source never runs here: it goes to a sandbox worker as a `mine` request
(compile check + code mining under the evaluation limits), and only the mined
ops' JSON comes back. A mined op joins the campaign's op library; the proposal
that asked is its trial (the coder chooses where to insert it), and later menus
at an insert/replace spot offer it too. Trees carry the op in `arch.mined`.

Durability and determinism: each outcome is written at once to
`modules/modules.json` (and the source to `modules/<exp>-<Class>.py`) and
committed. The decision to ask is a pure function of the proposal index; the
coder's answer is in the cassette; a resume reads recorded outcomes instead of
asking again, so a resumed or replayed campaign sees the same library.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

MODULES_DIR = "modules"
LOG_NAME = "modules.json"


class ModuleOutcome(BaseModel):
    """What became of one request for a module."""

    index: int  # the proposal that asked (0-based; experiment e{index + 1})
    exp_id: str
    name: str = ""  # the class the coder wrote ("" when it gave none)
    status: Literal["mined", "rejected"]
    reason: str = ""  # one line on rejection (or classes left out of a partial mining)
    failure: str | None = None  # the sandbox's failure kind (compile, timeout, ...)
    source_path: str | None = None  # modules/<exp>-<Class>.py, relative to the campaign folder
    ops: list[dict[str, Any]] = Field(default_factory=list)  # tools.MinedOp JSON

    @property
    def written(self) -> bool:
        return bool(self.source_path)


class ModuleCounts(BaseModel):
    """What `archlab status --json` shows under `modules`."""

    asked: int = 0
    written: int = 0  # the coder answered with code
    mined: int = 0
    rejected: int = 0
    ops: list[str] = Field(default_factory=list)  # the op library: mined.<Class> names
    used: int = 0  # trained experiments whose tree uses a mined op
    reasons: list[str] = Field(default_factory=list)  # "e0005 Broken: compile: ..." per rejection


def log_path(root: Path) -> Path:
    return Path(root) / MODULES_DIR / LOG_NAME


def load_log(root: Path) -> list[ModuleOutcome]:
    """Recorded outcomes in request order; an unreadable log counts as empty."""
    try:
        rows = json.loads(log_path(root).read_text(encoding="utf-8"))
        return [ModuleOutcome.model_validate(row) for row in rows]
    except (OSError, ValueError):
        return []


def source_name(exp: str, name: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9_]+", "_", name or "module")[:60]
    return f"{MODULES_DIR}/{exp}-{safe}.py"


def is_due(index: int, seeds: int, every: int) -> bool:
    """Whether proposal `index` asks for a module: the first after the seeds, then every `every`."""
    return every > 0 and index >= seeds and (index - seeds) % every == 0


def uses_mined(arch: dict[str, Any] | None) -> bool:
    """Whether a tree JSON uses any op it carries in `mined`."""
    if not arch or not arch.get("mined"):
        return False
    names, stack = set(arch["mined"]), [arch.get("root") or {}]
    while stack:
        node = stack.pop()
        if node.get("op") in names:
            return True
        stack.extend(node.get("children") or [])
    return False


def counts(root: Path, records: list[dict[str, Any]]) -> ModuleCounts:
    """Module counts from the campaign folder (log plus experiment records)."""
    log = load_log(root)
    mined = [o for o in log if o.status == "mined"]
    used = sum(1 for r in records if uses_mined(r.get("arch")) and not (r.get("result") or {}).get("cached")
               and (r.get("result") or {}).get("failure") not in ("constraint", "invalid"))
    return ModuleCounts(
        asked=len(log), written=sum(1 for o in log if o.written), mined=len(mined),
        rejected=sum(1 for o in log if o.status == "rejected"),
        ops=sorted({op.get("name", "") for o in mined for op in o.ops}), used=used,
        reasons=[f"{o.exp_id} {o.name or '(none)'}: {o.reason}" for o in log if o.status == "rejected"])


def without_unused_mined(tools: Any, arch: Any) -> Any:
    """`arch` carrying only the mined ops its nodes use (library ops were offered, not all taken)."""
    dumped = arch.model_dump(mode="json")
    used, stack = set(), [dumped["root"]]
    while stack:
        node = stack.pop()
        used.add(node.get("op"))
        stack.extend(node.get("children") or [])
    if set(arch.mined) <= used:
        return arch
    return tools.Arch(root=arch.root, mined={k: v for k, v in arch.mined.items() if k in used}, name=arch.name)
