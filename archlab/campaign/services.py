"""The CLI's two commands that are not a campaign run: rebuild a campaign's memory index,
and serve the mock model over HTTP. Here so the CLI talks to the campaign room only."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from archlab.campaign.errors import CampaignError, UsageError
from archlab.campaign.settings import CampaignSettings
from archlab.campaign.workspace import Workspace
from archlab.errors import one_line


def reindex_campaign(folder: Path, memory_dir: Path | None = None, chroma_url: str | None = None, *,
                     on_wait: Callable[[str], None] | None = None, wait_s: float | None = None) -> str:
    """Rebuild the memory index from the campaign folder (the source of truth); one line saying what was done.

    The memory is the one the campaign used (from its stored settings) unless `memory_dir`
    or `chroma_url` names another. A folder that a running campaign holds is waited for
    (`on_wait` gets one line saying so; at most `wait_s` seconds, None: no limit)."""
    from archlab.campaign.collaborators import wait_notice
    from archlab.knowledge import Memory, MemoryBusy, reindex

    ws = Workspace.open(folder)
    stored = CampaignSettings.model_validate(ws.load_state().settings or {})
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        if chroma_url or stored.chroma_url:
            memory = Memory(url=chroma_url or stored.chroma_url, embedder=stored.embedder)
        else:
            memory = Memory(path=memory_dir or stored.memory_dir or ws.index_dir, embedder=stored.embedder,
                            owner=f"archlab reindex {ws.root}", lock_timeout_s=wait_s,
                            on_wait=wait_notice(on_wait, wait_s))
    except MemoryBusy as exc:
        raise CampaignError(str(exc)) from None
    with memory:
        report = reindex(folder, memory, fresh=True)
    return f"Reindexed {report.added} experiments and {report.insights} insights into {memory.location}"


def serve_mock_model(host: str, port: int, fault_rate: float, *, api_key: str | None = None,
                     invalid_rate: float = 0.0) -> None:
    """Serve the mock model on an OpenAI-compatible HTTP API until interrupted.

    `api_key`: any other key gets HTTP 401. `invalid_rate`: that share of answers comes wrapped
    in an envelope that fails its schema (free-text requests only: a structured one cannot get it)."""
    from archlab.llm import FaultConfig, serve

    if not 0 <= invalid_rate <= 1:
        raise UsageError(f"--invalid-rate: expected a share in [0, 1], got {invalid_rate:g}")
    if fault_rate + invalid_rate > 1:
        raise UsageError(f"--fault-rate and --invalid-rate add up to {fault_rate + invalid_rate:g}: at most 1")
    try:
        faults = FaultConfig.uniform(fault_rate).model_copy(update={"invalid": invalid_rate})
    except ValueError as exc:
        raise UsageError(one_line(exc)) from None
    serve(host, port, faults, api_key=api_key)
