"""Everything one campaign talks to, built in one place (`wire`) and passed in.

After FunSearch's `funsearch.main`: all the wiring is one short function, and every
object the campaign uses is handed to typed constructors, so a test swaps a room by
passing a fake (`Wiring`), never by patching a module. Each collaborator is typed
by its room's interface: `SearchStrategy`, the sandbox's `Executor`, the agents,
and `ExperimentMemory` (what the campaign asks of the knowledge room's memory).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from archlab import tools
from archlab.campaign.errors import CampaignError
from archlab.campaign.modules import uses_mined
from archlab.campaign.settings import CampaignSettings
from archlab.campaign.workspace import Workspace
from archlab.errors import one_line
from archlab.records import CampaignSpec, Result
from archlab.tools import Arch

if TYPE_CHECKING:
    from archlab.agents import Analyst, Coder, Evaluator, Planner
    from archlab.knowledge import ExperimentRecord
    from archlab.llm import LLMClient
    from archlab.sandbox import Executor, Task
    from archlab.search import SearchStrategy


class ExperimentMemory(Protocol):
    """What the campaign asks of the knowledge room's memory (`Memory`, `WriteBehindMemory`)."""

    def similar(self, arch: Arch | None = None, text: str | None = None, k: int = 5) -> list[dict[str, Any]]: ...

    def best(self, k: int = 5) -> list[dict[str, Any]]: ...

    def lookup(self, arch_hash: str, fidelity: float, task: str | None = None) -> Result | None: ...

    def add(self, record: ExperimentRecord) -> None: ...

    def add_insight(self, text: str, campaign: str, meta: dict[str, Any] | None = None) -> str: ...

    def close(self) -> None: ...


SearchFactory = Callable[[CampaignSpec, "Task"], "SearchStrategy"]
ExecutorFactory = Callable[[CampaignSpec, CampaignSettings, "Task"], "Executor"]


def make_search(spec: CampaignSpec, task: Task) -> SearchStrategy:
    """The spec's strategy over its seeds. A tree using a mined op always "fits" the caps here:
    sizing it means running the coder's code, so the worker checks it (`EvalRequest.constraints`)."""
    from archlab.search import CapCheck, make_strategy

    caps = CapCheck(spec.constraints, task.input_shape, task.num_classes)

    def fits(arch: Arch) -> bool:
        return True if arch.mined and uses_mined(arch.model_dump(mode="json")) else caps(arch)

    seeds = [tools.seeds.by_name(name) for name in spec.seed_archs]
    return make_strategy(spec.strategy, spec.seed, seeds, task.input_shape, constraints=spec.constraints,
                         num_classes=task.num_classes, fits=fits)


def make_campaign_executor(spec: CampaignSpec, settings: CampaignSettings, task: Task) -> Executor:
    """The sandbox's executor for the task (local pool, Ray, or a lookup table)."""
    from archlab.sandbox import make_executor

    try:
        return make_executor(task, kind=settings.executor, workers=settings.workers,
                             address=settings.ray_address, cache_dir=settings.resolved_cache_dir(),
                             unsafe_sandbox=settings.unsafe_sandbox)
    except Exception as exc:
        raise CampaignError(f"could not start the {settings.executor} executor: {one_line(exc)}") from None


@dataclass(frozen=True)
class Wiring:
    """How the collaborators a test may replace are made (the defaults are the real rooms)."""

    search: SearchFactory = make_search
    executor: ExecutorFactory = make_campaign_executor


@dataclass
class Collaborators:
    """The task, the search, the executor, the memory, the model and its agents, the folder."""

    spec: CampaignSpec
    settings: CampaignSettings
    task: Task
    search: SearchStrategy
    executor: Executor
    memory: ExperimentMemory
    llm: LLMClient
    planner: Planner
    coder: Coder
    evaluator: Evaluator
    analyst: Analyst
    workspace: Workspace
    # A replay re-uses the original's analyses: they quote wall-clock latencies, which
    # differ run to run, so their prompts cannot be found in the cassette again.
    recorded_analyses: dict[str, tuple[str, list[str]]] = field(default_factory=dict)
    recorded_insights: list[str] | None = None

    def close(self) -> None:
        for closing in (self.executor.close, self.memory.close):
            try:
                closing()
            except Exception:  # closing must never hide the campaign's own outcome
                pass


def wire(spec: CampaignSpec, settings: CampaignSettings, ws: Workspace, task: Task | None = None, *,
         llm_mode: Literal["record", "replay"], resumed: bool, wiring: Wiring | None = None,
         llm: LLMClient | None = None, memory: ExperimentMemory | None = None,
         owner: str | None = None) -> Collaborators:
    """Open every room one campaign needs. `task` is the one the checks loaded (loaded here if
    None, e.g. on resume); `resumed` carries the model usage of earlier sessions over. `llm` and
    `memory`, when given, were opened (and the model probed) before the folder existed
    (`open_before_folder`); otherwise the client is made and probed here, before the memory and
    the executor, so a dead endpoint or a busy memory stops the session before any training."""
    from archlab.agents import Analyst, Coder, Evaluator, Planner

    wiring = wiring or Wiring()
    try:
        task = task or load_task_for(spec, settings)
        if llm is None:
            llm = make_client(spec, settings, ws.cassette_path, llm_mode)
            if resumed and ws.usage_path.is_file():
                llm.load_usage(ws.usage_path)
            probe_model(llm)
        search = wiring.search(spec, task)
        if memory is None:
            own = own_experiments(ws) if settings.lightweight else []
            memory = open_campaign_memory(ws.root, settings, owner=owner, own=own)
        executor = wiring.executor(spec, settings, task)
    except BaseException:
        if memory is not None:
            memory.close()
        raise
    return Collaborators(spec=spec, settings=settings, task=task, search=search, executor=executor, memory=memory,
                         llm=llm, planner=Planner(llm), coder=Coder(llm), evaluator=Evaluator(llm),
                         analyst=Analyst(llm), workspace=ws)


def load_task_for(spec: CampaignSpec, settings: CampaignSettings) -> Task:
    from archlab.sandbox import load_task

    return load_task(spec.task, settings.resolved_cache_dir())


def make_client(spec: CampaignSpec, settings: CampaignSettings, cassette_path: Path,
                mode: Literal["record", "replay"]) -> LLMClient:
    """The campaign's model client (the cassette file is made at the first exchange, not here)."""
    from archlab.llm import LLMClient, SpendCap

    cap = SpendCap(max_tokens=spec.budget.max_tokens, max_cost_usd=spec.budget.max_cost_usd)
    return LLMClient(model=spec.model, api_base=settings.api_base, cassette_path=cassette_path, mode=mode,
                     cap=cap, seed=spec.seed, **client_options(settings))


def client_options(settings: CampaignSettings) -> dict[str, Any]:
    """The settings every model client of a campaign takes (the planner's too)."""
    return {"structured": settings.structured, "allow_fallback": settings.allow_fallback,
            "unreachable_after": settings.unreachable_after}


def probe_model(llm: LLMClient) -> None:
    """One tiny request before anything is spent: a dead endpoint is one line (exit 1), unless
    the person allowed the fallback (then the session runs on the search's own choices)."""
    from archlab.llm import ModelUnreachable

    try:
        llm.probe()
    except ModelUnreachable as exc:
        raise CampaignError(str(exc)) from None


def open_before_folder(spec: CampaignSpec, settings: CampaignSettings, root: Path,
                       owner: str) -> tuple[LLMClient, ExperimentMemory | None]:
    """What can refuse a new campaign, opened before its folder exists, so a refusal leaves nothing
    behind: the model (probed) and a shared memory (a `--memory` folder another campaign may hold,
    or a Chroma server). The campaign's own DIR/index cannot be busy; it is opened later."""
    llm = make_client(spec, settings, Workspace(root).cassette_path, "record")
    probe_model(llm)
    if settings.memory_dir is None and settings.chroma_url is None:
        return llm, None
    return llm, open_campaign_memory(root, settings, owner=owner, own=[])


def own_experiments(ws: Workspace) -> list[ExperimentRecord]:
    """The campaign's finished records (a resume's prefix), for a lightweight campaign's own index."""
    from archlab.knowledge import ExperimentRecord

    return [ExperimentRecord.model_validate(ws.read_record_json(exp)) for exp in ws.finished_ids()]


def open_campaign_memory(root: Path, settings: CampaignSettings, *, owner: str | None = None,
                         own: list[ExperimentRecord] | None = None) -> ExperimentMemory:
    """The campaign's memory. An embedded folder is held until `close` (another campaign on it waits,
    saying so through `settings.notice`, for at most `settings.memory_wait_s`). Lightweight campaigns
    batch its writes and ask their similarity questions of an in-process index of their own
    experiments (`own`: a resume's prefix), not of Chroma (see knowledge/write_behind.py)."""
    from archlab.knowledge import KnowledgeError, MemoryBusy, open_memory

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        memory = open_memory(root, memory_dir=settings.memory_dir, url=settings.chroma_url,
                             embedder=settings.embedder, owner=owner, lock_timeout_s=settings.memory_wait_s,
                             on_wait=wait_notice(settings.notice, settings.memory_wait_s))
    except MemoryBusy as exc:
        raise CampaignError(str(exc)) from None
    except KnowledgeError as exc:
        raise CampaignError(f"could not open the memory: {one_line(exc)}") from None
    if settings.lightweight:
        from archlab.knowledge.write_behind import WriteBehindMemory

        return WriteBehindMemory(memory, own=own or [])
    return memory


def wait_notice(notice: Callable[[str], None] | None, wait_s: float | None) -> Callable[[str], None] | None:
    """Who hears "waiting for the memory folder": nobody when the person asked not to wait
    (`--memory-wait 0`), so the refusal is their one line."""
    if wait_s == 0:
        return lambda _line: None
    return notice
