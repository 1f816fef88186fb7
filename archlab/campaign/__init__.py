"""archlab.campaign: the orchestrator, the campaign folder, resume and replay.

Public API (the CLI uses only this):
- `run_campaign(spec, out_dir, settings) -> CampaignSummary`
- `resume_campaign(dir, settings=None) -> CampaignSummary`
- `replay_campaign(dir, out_dir=None, settings=None) -> CampaignSummary` (summary.replay compares)
- `plan_spec(goal, overrides, settings) -> CampaignSpec` (the planner plus explicit flags)
- `summarize(dir) -> CampaignSummary`, `status_json(summary) -> str`
- `CampaignSettings`, `ProgressEvent`, `CampaignError` (exit 1), `UsageError` (exit 2)
"""

from archlab.campaign.api import replay_campaign, resume_campaign, run_campaign
from archlab.campaign.checks import apply_overrides, plan_spec
from archlab.campaign.errors import CampaignError, UsageError
from archlab.campaign.settings import CampaignSettings, LeaderboardRow, ProgressEvent
from archlab.campaign.summary import CampaignSummary, load_records, status_json, summarize
from archlab.campaign.workspace import Workspace

__all__ = [
    "CampaignError",
    "CampaignSettings",
    "CampaignSummary",
    "LeaderboardRow",
    "ProgressEvent",
    "UsageError",
    "Workspace",
    "apply_overrides",
    "load_records",
    "plan_spec",
    "replay_campaign",
    "resume_campaign",
    "run_campaign",
    "status_json",
    "summarize",
]
