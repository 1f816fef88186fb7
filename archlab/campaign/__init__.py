"""archlab.campaign: the orchestrator, the campaign folder, resume and replay.

Public API (the CLI uses only this):
- `run_campaign(spec, out_dir, settings) -> CampaignSummary`
- `resume_campaign(dir, settings=None) -> CampaignSummary`
- `replay_campaign(dir, out_dir=None, settings=None) -> CampaignSummary` (summary.replay compares)
- `plan_spec(goal, overrides, settings) -> CampaignSpec` (the planner plus explicit flags)
- `summarize(dir) -> CampaignSummary`, `status_json(summary) -> str`, `load_records(ws)`, `best_of(records)`
- `confirm_campaign(dir, settings=None, *, top_k=None, seeds=None)`: the confirmation stage for a finished
  campaign (`archlab confirm`); `export_model(dir, exp_id, out) -> lines` (`archlab export`, weights beside)
- `CampaignSettings`, `ProgressEvent`, `CampaignError` (exit 1), `UsageError` (exit 2)
- `Wiring`: the three entry points take `wiring=` to swap the search or the executor (tests)
- `read_config`, `check_flags`, `merge_options`, `settings_from` (the `--config` YAML and the flags,
  each bad value one line naming its key and what it expects), `make_view` (live progress)
- `reindex_campaign(dir, memory_dir=None, chroma_url=None, *, on_wait=None, wait_s=None)`,
  `serve_mock_model(host, port, fault_rate, *, api_key=None, invalid_rate=0.0)`
- `model_source(ws, exp)`: an experiment's model.py (rendered on demand where a lightweight campaign wrote none); `model_sources(ws, exps)`: several, the task loaded once

Inside, one proposal goes: lifecycle.py (run/resume/replay) -> collaborators.py (`wire`:
every room's object, built once) -> loop.py (`Orchestrator`: when) -> proposing.py
(`Proposer`: search, coder, tools, evaluator) -> the executor -> recording.py
(`Recorder`: analyst, files, memory, search.observe, git).
"""

from archlab.campaign.checks import plan_spec
from archlab.campaign.collaborators import Wiring
from archlab.campaign.config_file import check_flags, merge_options, read_config, settings_from
from archlab.campaign.confirming import confirm_campaign
from archlab.campaign.errors import CampaignError, UsageError
from archlab.campaign.export import export_model
from archlab.campaign.lifecycle import replay_campaign, resume_campaign, run_campaign
from archlab.campaign.services import reindex_campaign, serve_mock_model
from archlab.campaign.live_view import make_view
from archlab.campaign.model_files import model_source, model_sources
from archlab.campaign.settings import CampaignSettings, LeaderboardRow, ProgressEvent
from archlab.campaign.status import CampaignSummary, best_of, load_records, status_json, summarize
from archlab.campaign.workspace import Workspace

__all__ = [
    "CampaignError",
    "CampaignSettings",
    "CampaignSummary",
    "LeaderboardRow",
    "ProgressEvent",
    "UsageError",
    "Wiring",
    "Workspace",
    "best_of",
    "check_flags",
    "confirm_campaign",
    "export_model",
    "load_records",
    "make_view",
    "merge_options",
    "model_source",
    "model_sources",
    "plan_spec",
    "read_config",
    "reindex_campaign",
    "replay_campaign",
    "resume_campaign",
    "run_campaign",
    "serve_mock_model",
    "settings_from",
    "status_json",
    "summarize",
]
