"""Opening the other rooms for one campaign, and the narrow calls made into them.

This is the only module of campaign/ that knows the other rooms' constructors
and method names (docs/CONTRACTS.md); parts.py speaks to a `Rooms` only.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

from archlab.campaign.errors import CampaignError
from archlab.campaign.settings import CampaignSettings
from archlab.records import CampaignSpec, Result

T = TypeVar("T")


class Rooms:
    """Task, backbone, executor, memory, model client and agents of one campaign."""

    def __init__(self, spec: CampaignSpec, settings: CampaignSettings, root: Path,
                 lag: int, llm_mode: str, cassette: Path, usage_path: Path | None,
                 campaign: str) -> None:
        from archlab import tools
        from archlab.sandbox.tasks import load_task

        self.tools: ModuleType = tools
        self.spec, self.settings, self.root, self.lag, self.campaign = spec, settings, root, lag, campaign
        self.task = load_task(spec.task, settings.resolved_cache_dir())
        self.backbone = make_backbone(spec, self.task, tools)
        self.llm = make_llm(spec, settings, llm_mode, cassette, usage_path)
        self.planner, self.coder, self.evaluator, self.analyst = make_agents(self.llm, spec)
        self.memory = open_campaign_memory(root, settings)
        self.executor = make_campaign_executor(spec, settings)
        # A replay re-uses the original's analyses: they quote wall-clock latencies, which
        # differ run to run, so their prompts cannot be found in the cassette again.
        self.recorded_analyses: dict[str, tuple[str, list[str]]] = {}
        self.recorded_insights: list[str] | None = None

    def close(self) -> None:
        for thing in (self.executor, self.memory):
            try:
                thing.close()
            except Exception:  # closing must never hide the campaign's own outcome
                pass

    # ---- guards and small helpers ---------------------------------------------------

    def guard(self, call: Callable[[], T]) -> T:
        """Run an agent call; the model spend cap turns into a clean stop."""
        from archlab.campaign.parts import SpendStop
        from archlab.llm import SpendExceeded

        try:
            return call()
        except SpendExceeded as exc:
            raise SpendStop(f"model spend budget reached: {exc}") from None

    def check_constraints(self, arch: Any) -> str | None:
        from archlab.search import check_constraints

        return check_constraints(arch, self.task.input_shape, self.task.num_classes, self.spec.constraints)

    def describe_edit(self, edit: Any) -> str:
        if edit is None:
            return ""
        if isinstance(edit, dict):
            if isinstance(edit.get("description"), str):  # a campaign step such as a promotion
                return edit["description"]
            try:
                edit = self.tools.Edit.model_validate(edit)
            except Exception:
                return str(edit.get("kind", "edit"))
        return edit.describe()

    # ---- evaluation ------------------------------------------------------------------

    def fidelity(self, context: dict[str, Any], step: str, levels: list[float]) -> float:
        """The evaluator's fidelity for a candidate; a screen-out trains at the lowest level."""
        from archlab.agents import FidelityContext

        decision = self.guard(lambda: self.evaluator.plan_fidelity(FidelityContext(**context), step=step))
        wanted = min(levels) if decision.screen_out else float(decision.fidelity)
        return min(levels, key=lambda level: abs(level - wanted))

    def params_of(self, arch: Any) -> int | None:
        try:
            return int(self.tools.count_params(
                self.tools.build(arch, self.task.input_shape, self.task.num_classes)))
        except Exception:  # a tree that cannot be built has no size; the sandbox will say why
            return None

    def search_summary(self, rows: list[dict[str, Any]], generation: int) -> Any:
        from archlab.agents import Evidence, SearchSummary

        evidence = [Evidence.from_memory(row) for row in rows]
        return SearchSummary.from_evidence(evidence, generation=generation)

    def submit(self, exp: str, arch: Any, fidelity: float, seed: int,
               overrides: dict[str, Any], check_constraints: bool = False) -> Future[Result]:
        """Train one tree; `check_constraints` has the worker size it before training (mined ops
        can only be built where their code may run)."""
        from archlab.sandbox.requests import EvalRequest, Limits

        request = EvalRequest(
            exp_id=exp, arch=arch.model_dump(mode="json"), task=self.spec.task, fidelity=fidelity,
            seed=seed, recipe_overrides=dict(overrides),
            constraints=self.spec.constraints if check_constraints else None,
            limits=Limits(time_s=self.settings.eval_time_s, memory_mb=self.settings.eval_memory_mb))
        return self.executor.submit(request)

    def mine(self, exp: str, source: str, time_s: float) -> Future[Result]:
        """Compile-check and mine a coder's module in a sandbox worker (never in this process)."""
        from archlab.sandbox.requests import EvalRequest, Limits

        request = EvalRequest(exp_id=exp, arch={}, task=self.spec.task, kind="mine", source=source,
                              limits=Limits(time_s=time_s, memory_mb=self.settings.eval_memory_mb))
        return self.executor.submit(request)

    # ---- agents after the fact ------------------------------------------------------------

    def analyze(self, record: Any, parent: dict[str, Any] | None,
                memories: list[dict[str, Any]], step: str) -> tuple[str, list[str]]:
        if record.id in self.recorded_analyses:  # a replay: the analysis read measured timings
            return self.recorded_analyses[record.id]
        analysis = self.guard(lambda: self.analyst.analyze(record, parent, memories, step=step))
        return str(getattr(analysis, "text", "")), list(getattr(analysis, "insights", []))

    def summarize(self, records: list[Any]) -> list[str]:
        if self.recorded_insights is not None:
            return list(self.recorded_insights)
        if not records:
            return []
        return list(self.guard(lambda: self.analyst.summarize(records)))

    # ---- memory ---------------------------------------------------------------------------

    def new_record(self, **fields: Any) -> Any:
        from archlab.knowledge import ExperimentRecord

        return ExperimentRecord(**fields)

    def memory_similar(self, arch: Any, text: str, k: int) -> list[dict[str, Any]]:
        return self.memory.similar(arch, text or None, k)

    def memory_best(self, campaign: str, visible: int) -> list[dict[str, Any]]:
        rows = self.memory.best(8 + self.lag)
        seen = [r for r in rows if r.get("campaign") != campaign or _num(r.get("id")) <= visible][:5]
        return [without_own_name(r, campaign) for r in seen]

    def memory_lookup(self, arch_hash: str, fidelity: float) -> Result | None:
        return self.memory.lookup(arch_hash, fidelity, task=self.spec.task)

    def memory_add(self, record: Any, insights: list[str]) -> None:
        self.memory.add(record)
        for text in insights:
            self.memory.add_insight(text, self.campaign, {"exp_id": record.id})

    # ---- accounting and report -------------------------------------------------------------

    def usage_totals(self) -> dict[str, Any]:
        return self.llm.usage.totals()

    def save_usage(self, path: Path) -> None:
        self.llm.save_usage(path)

    def refresh_report(self, root: Path) -> None:
        refresh_report(root)


def refresh_report(root: Path) -> tuple[Path, Path] | None:
    """Rebuild report.md/html; a report problem never stops a campaign."""
    try:
        from archlab.report import build_report

        return build_report(root)
    except Exception as exc:  # the report room's bug must not cost the person their run
        import warnings

        warnings.warn(f"report not refreshed: {' '.join(str(exc).split())}", stacklevel=2)
        return None


def make_backbone(spec: CampaignSpec, task: Any, tools: ModuleType) -> Any:
    from archlab.campaign.modules import uses_mined
    from archlab.search import CapCheck, make_strategy

    seeds = [tools.seeds.by_name(name) for name in spec.seed_archs]
    caps = CapCheck(spec.constraints, task.input_shape, task.num_classes)

    def fits(arch: Any) -> bool:  # only a sandbox may size a tree using a mined op: it checks those
        return True if arch.mined and uses_mined(arch.model_dump(mode="json")) else caps(arch)

    return make_strategy(spec.strategy, spec.seed, seeds, task.input_shape, constraints=spec.constraints,
                         num_classes=task.num_classes, fits=fits)


def make_llm(spec: CampaignSpec, settings: CampaignSettings, mode: str, cassette: Path,
             usage_path: Path | None) -> Any:
    from archlab.llm import LLMClient, SpendCap

    cap = SpendCap(max_tokens=spec.budget.max_tokens, max_cost_usd=spec.budget.max_cost_usd)
    client = LLMClient(model=spec.model, api_base=settings.api_base, cassette_path=cassette,
                       mode=mode, cap=cap, seed=spec.seed)
    if usage_path is not None and usage_path.is_file():
        client.load_usage(usage_path)
    return client


def make_agents(llm: Any, spec: CampaignSpec) -> tuple[Any, Any, Any, Any]:
    from archlab.agents import Analyst, Coder, Evaluator, Planner

    return Planner(llm), Coder(llm), Evaluator(llm), Analyst(llm)


def open_campaign_memory(root: Path, settings: CampaignSettings) -> Any:
    from archlab.knowledge import open_memory

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    memory = open_memory(root, memory_dir=settings.memory_dir, url=settings.chroma_url,
                         embedder=settings.embedder)
    if settings.lightweight:  # batch the writes; every answer stays the same (see write_behind.py)
        from archlab.knowledge.write_behind import WriteBehindMemory

        return WriteBehindMemory(memory)
    return memory


def make_campaign_executor(spec: CampaignSpec, settings: CampaignSettings) -> Any:
    from archlab.sandbox.executor import make_executor

    try:
        return make_executor(spec.task, kind=settings.executor, workers=settings.workers,
                             address=settings.ray_address, cache_dir=settings.resolved_cache_dir())
    except Exception as exc:
        raise CampaignError(f"could not start the {settings.executor} executor: "
                            f"{' '.join(str(exc).split())}") from None


def without_own_name(row: dict[str, Any], campaign: str) -> dict[str, Any]:
    """Drop this campaign's own name from a memory row: a prompt must not depend on the
    folder's name, or a replay into another folder would ask different questions."""
    if row.get("campaign") == campaign:
        return {k: v for k, v in row.items() if k != "campaign"}
    return row


def _num(exp: Any) -> int:
    try:
        return int(str(exp).lstrip("e"))
    except ValueError:
        return 0
