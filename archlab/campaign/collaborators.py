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
from typing import TYPE_CHECKING, Any, Literal, Protocol

from archlab import tools
from archlab.campaign.errors import CampaignError
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

    def principles_for(self, goal: str, k: int = 3, tensor_kind: str | None = None) -> list[dict[str, Any]]: ...

    def add(self, record: ExperimentRecord) -> None: ...

    def add_insight(self, text: str, campaign: str, meta: dict[str, Any] | None = None) -> str: ...

    def close(self) -> None: ...


SearchFactory = Callable[[CampaignSpec, "Task"], "SearchStrategy"]
ExecutorFactory = Callable[[CampaignSpec, CampaignSettings, "Task"], "Executor"]


def make_search(spec: CampaignSpec, task: Task) -> SearchStrategy:
    """The spec's strategy over its seeds: menus narrowed to the parameter cap, evolution's
    population scaled to the evaluation budget. (A tree using a mined op is sized without it, a
    lower bound; the worker checks it in full, `EvalRequest.constraints`.)"""
    from archlab.search import make_strategy

    seeds = [tools.seeds.by_name(name) for name in spec.seed_archs]
    return make_strategy(spec.strategy, spec.seed, seeds, task.input_shape, constraints=spec.constraints,
                         num_classes=task.num_classes, max_evals=spec.budget.max_evals)


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
         llm_mode: Literal["record", "replay"], resumed: bool, wiring: Wiring | None = None) -> Collaborators:
    """Open every room one campaign needs. `task` is the one the checks loaded (loaded here if
    None, e.g. on resume); `resumed` carries the model usage of earlier sessions over."""
    from archlab.agents import Analyst, Coder, Evaluator, Planner
    from archlab.llm import LLMClient, SpendCap
    from archlab.sandbox import load_task

    wiring = wiring or Wiring()
    task = task or load_task(spec.task, settings.resolved_cache_dir())
    cap = SpendCap(max_tokens=spec.budget.max_tokens, max_cost_usd=spec.budget.max_cost_usd)
    llm = LLMClient(model=spec.model, api_base=settings.api_base, cassette_path=ws.cassette_path,
                    mode=llm_mode, cap=cap, seed=spec.seed)
    if resumed and ws.usage_path.is_file():
        llm.load_usage(ws.usage_path)
    search = wiring.search(spec, task)
    memory = open_campaign_memory(ws, settings)
    try:
        executor = wiring.executor(spec, settings, task)
    except BaseException:
        memory.close()
        raise
    return Collaborators(spec=spec, settings=settings, task=task, search=search, executor=executor, memory=memory,
                         llm=llm, planner=Planner(llm), coder=Coder(llm), evaluator=Evaluator(llm),
                         analyst=Analyst(llm), workspace=ws)


def open_campaign_memory(ws: Workspace, settings: CampaignSettings) -> ExperimentMemory:
    """The campaign's memory. Lightweight campaigns batch its writes and ask their similarity
    questions of an in-process index of their own experiments (a resume's prefix included),
    not of Chroma (see knowledge/write_behind.py)."""
    from archlab.knowledge import ExperimentRecord, open_memory

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    memory = open_memory(ws.root, memory_dir=settings.memory_dir, url=settings.chroma_url,
                         embedder=settings.embedder)
    if settings.lightweight:
        from archlab.knowledge.write_behind import WriteBehindMemory

        own = [ExperimentRecord.model_validate(ws.read_record_json(exp)) for exp in ws.finished_ids()]
        return WriteBehindMemory(memory, own=own)
    return memory
