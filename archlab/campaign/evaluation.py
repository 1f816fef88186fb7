"""The requests the campaign sends to the sandbox: train a candidate, or mine a coder's module."""

from __future__ import annotations

from archlab.campaign.candidate import PreparedCandidate
from archlab.campaign.settings import CampaignSettings
from archlab.records import CampaignSpec
from archlab.sandbox import EvalRequest, Limits


def train_request(candidate: PreparedCandidate, spec: CampaignSpec, settings: CampaignSettings) -> EvalRequest:
    """Train one tree; a tree using mined ops is sized by the worker (`constraints`): only where
    its code may run can it be built."""
    return EvalRequest(
        exp_id=candidate.exp_id, arch=candidate.arch.model_dump(mode="json"), task=spec.task,
        fidelity=candidate.fidelity, seed=spec.seed, recipe_overrides=dict(settings.recipe_overrides),
        constraints=spec.constraints if candidate.sandbox_constraints else None,
        limits=Limits(time_s=settings.eval_time_s, memory_mb=settings.eval_memory_mb))


def mine_request(exp: str, source: str, spec: CampaignSpec, settings: CampaignSettings) -> EvalRequest:
    """Compile-check and mine a coder's module in a sandbox worker (never in the campaign's process)."""
    return EvalRequest(exp_id=exp, arch={}, task=spec.task, kind="mine", source=source,
                       limits=Limits(time_s=settings.module_time_s, memory_mb=settings.eval_memory_mb))
