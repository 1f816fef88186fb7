"""The CLI's two commands that are not a campaign run: rebuild a campaign's memory index,
and serve the mock model over HTTP. Here so the CLI talks to the campaign room only."""

from __future__ import annotations

import os
from pathlib import Path

from archlab.campaign.errors import UsageError
from archlab.campaign.settings import CampaignSettings
from archlab.campaign.workspace import Workspace
from archlab.errors import one_line


def reindex_campaign(folder: Path, memory_dir: Path | None = None, chroma_url: str | None = None) -> str:
    """Rebuild the memory index from the campaign folder (the source of truth); one line saying what was done.

    The memory is the one the campaign used (from its stored settings) unless `memory_dir`
    or `chroma_url` names another."""
    from archlab.knowledge import Memory, reindex

    ws = Workspace.open(folder)
    stored = CampaignSettings.model_validate(ws.load_state().settings or {})
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    if chroma_url or stored.chroma_url:
        memory = Memory(url=chroma_url or stored.chroma_url, embedder=stored.embedder)
    else:
        memory = Memory(path=memory_dir or stored.memory_dir or ws.index_dir, embedder=stored.embedder)
    with memory:
        report = reindex(folder, memory, fresh=True)
    return f"Reindexed {report.added} experiments and {report.insights} insights into {memory.location}"


def serve_mock_model(host: str, port: int, fault_rate: float) -> None:
    """Serve the mock model on an OpenAI-compatible HTTP API until interrupted."""
    from archlab.llm import FaultConfig, serve

    try:
        faults = FaultConfig.uniform(fault_rate)
    except ValueError as exc:
        raise UsageError(one_line(exc)) from None
    serve(host, port, faults)
