"""Rebuilding the index from a campaign folder, the source of truth.

`reindex` reads `DIR/experiments/*/record.json` and a lightweight campaign's
`DIR/experiments/records.jsonl` (and `DIR/insights.json`) and
writes them into a Memory. A corrupt file is skipped with a warning naming it;
the rest loads. `open_memory` opens a campaign's memory and indexes whatever
the folder holds that the index lacks, so a deleted index heals on its own.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from archlab.knowledge.embedders import TextEmbedder
from archlab.errors import one_line
from archlab.knowledge.errors import CorruptRecordWarning, KnowledgeError
from archlab.knowledge.experiment import ExperimentRecord, read_record
from archlab.knowledge.memory import Memory
from archlab.knowledge.record_log import log_path, read_log


class ReindexReport(BaseModel):
    """What one reindex did."""

    records: int = 0  # record files read successfully
    added: int = 0  # of those, written into the index
    insights: int = 0
    skipped: list[str] = Field(default_factory=list)  # "PATH: reason" per bad file


def _warn_skip(report: ReindexReport, path: Path, reason: str) -> None:
    message = f"skipping corrupt record {path}: {reason}"
    report.skipped.append(f"{path}: {reason}")
    warnings.warn(message, CorruptRecordWarning, stacklevel=3)


def read_records(campaign_dir: Path, report: ReindexReport) -> list[ExperimentRecord]:
    """Every readable record of a campaign folder, in experiment order."""
    experiments = Path(campaign_dir) / "experiments"
    records = []
    for path in sorted(experiments.glob("*/record.json")):
        try:
            records.append(read_record(path))
        except KnowledgeError as error:
            _warn_skip(report, path, str(error).removeprefix(f"{path}: "))
    log = log_path(campaign_dir)  # a lightweight campaign's records (record_log.py)
    for raw in read_log(log):
        try:
            records.append(ExperimentRecord.model_validate(raw))
        except ValidationError as error:
            _warn_skip(report, log, f"{raw['id']}: {one_line(error)}")
    records.sort(key=lambda record: (len(record.id), record.id))
    report.records = len(records)
    return records


def _read_insights(path: Path, report: ReindexReport) -> list[str]:
    """insights.json: a list of texts, of {"text": ...}, or {"insights": [...]}."""
    if not path.is_file():
        return []
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(raw, dict):
            raw = raw.get("insights", [])
        if not isinstance(raw, list):
            raise ValueError("expected a list of insights")
        texts = [item.get("text", "") if isinstance(item, dict) else str(item) for item in raw]
    except (OSError, ValueError) as error:
        _warn_skip(report, path, one_line(error))
        return []
    return [text for text in texts if text.strip()]


def _campaign_name(campaign_dir: Path, records: list[ExperimentRecord]) -> str:
    names = {record.campaign for record in records}
    return names.pop() if len(names) == 1 else Path(campaign_dir).resolve().name


def reindex(
    campaign_dir: Path | str,
    memory: Memory,
    *,
    only_missing: bool = False,
    fresh: bool = False,
) -> ReindexReport:
    """Index a campaign folder's records and insights into `memory`.

    only_missing: skip records the index already holds (cheap healing on open).
    fresh: first forget this campaign's rows, so records deleted from the
    folder disappear from the index too.
    """
    campaign_dir = Path(campaign_dir)
    if not campaign_dir.is_dir():
        raise KnowledgeError(f"campaign folder {campaign_dir} does not exist")
    report = ReindexReport()
    records = read_records(campaign_dir, report)
    campaign = _campaign_name(campaign_dir, records)
    if fresh:
        for name in {record.campaign for record in records} | {campaign}:
            memory.forget(name)
    if only_missing and not fresh:
        known = memory.known([record.key for record in records])
        records = [record for record in records if record.key not in known]
    report.added = memory.add_many(records)
    # The same insights the campaign stores as it goes: each record's, then the distilled ones.
    insights = [(text, record.campaign, {"exp_id": record.id}) for record in records for text in record.insights]
    insights += [(text, campaign, {"source": "insights.json"})
                 for text in _read_insights(campaign_dir / "insights.json", report)]
    report.insights = len(memory.add_insights(insights)) if insights else 0
    return report


def open_memory(
    campaign_dir: Path | str,
    memory_dir: Path | str | None = None,
    url: str | None = None,
    embedder: str | TextEmbedder = "minilm",
    *,
    owner: str | None = None,
    lock_timeout_s: float | None = None,
    on_wait: Callable[[str], None] | None = None,
) -> Memory:
    """The memory a campaign uses, brought up to date with its folder.

    By default the index lives in DIR/index; `memory_dir` (a folder shared by
    campaigns) or `url` (a Chroma server) put it elsewhere. Records on disk that
    the index lacks (a deleted or corrupt index, a crash between the write and
    the index) are indexed now. A folder is held until `close` (see `Memory`:
    `owner` names the holder, default the campaign folder; `lock_timeout_s` and
    `on_wait` say how long and how to wait for another process; MemoryBusy).
    """
    campaign_dir = Path(campaign_dir)
    if url is not None:
        memory = Memory(url=url, embedder=embedder)
    else:
        memory = Memory(path=Path(memory_dir) if memory_dir else campaign_dir / "index", embedder=embedder,
                        owner=owner or f"campaign {campaign_dir.resolve()}", lock_timeout_s=lock_timeout_s,
                        on_wait=on_wait)
    if (campaign_dir / "experiments").is_dir():
        try:
            reindex(campaign_dir, memory, only_missing=True)
        except BaseException:
            memory.close()  # let go of the folder's lock
            raise
    return memory
