"""Compare several campaigns (e.g. agentic, evolution and random on one task).

Writes compare.md and a self-contained compare.html into `out_dir`: one line per
campaign on the best-so-far plots (coloured by strategy, so campaigns of the same
strategy share a colour), their Pareto fronts, a table per campaign and per
strategy, and one leaderboard over all of them, ranked by validation accuracy.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path
from statistics import mean
from typing import Any

from pydantic import BaseModel

from archlab.report import plots, summary
from archlab.report.loader import AgentUsage, CampaignView, ExperimentView, ReportError, load_campaign
from archlab.report.render import atomic_write, render, save_image

FILES_DIR = "compare_files"
LEADERBOARD_ROWS = 15


class CampaignRow(BaseModel):
    """One campaign's line in the comparison table."""

    view: CampaignView
    label: str
    color: str
    counts: summary.StatusCounts
    best: ExperimentView | None
    usage: AgentUsage
    minutes: float | None  # from start to the last finished evaluation
    report_link: str | None  # relative link to its own report.html, when built


class StrategyRow(BaseModel):
    strategy: str
    campaigns: int
    mean_best: float | None
    top_best: float | None
    mean_evaluations: float


def _label(view: CampaignView, views: list[CampaignView]) -> str:
    """The strategy alone when it is unique among the campaigns, else with the folder name."""
    same = sum(1 for other in views if other.strategy == view.strategy)
    return view.strategy if same == 1 else f"{view.strategy} ({view.name})"


def _row(view: CampaignView, views: list[CampaignView], index: int, out_dir: Path) -> CampaignRow:
    points = summary.progress(view)
    minutes = [p.minutes for p in points if p.minutes is not None]
    report = view.path / "report.html"
    return CampaignRow(
        view=view, label=_label(view, views), color=plots.color_for(view.strategy, index),
        counts=summary.status_counts(view), best=summary.best(view.experiments), usage=view.usage_total,
        minutes=max(minutes) if minutes else None,
        report_link=Path(os.path.relpath(report, out_dir)).as_posix() if report.is_file() else None,
    )


def _strategy_rows(rows: list[CampaignRow]) -> list[StrategyRow]:
    result = []
    for strategy in sorted({r.view.strategy for r in rows}):
        group = [r for r in rows if r.view.strategy == strategy]
        bests = [r.best.result.val_accuracy for r in group if r.best is not None]
        result.append(StrategyRow(strategy=strategy, campaigns=len(group),
                                  mean_best=mean(bests) if bests else None,
                                  top_best=max(bests) if bests else None,
                                  mean_evaluations=mean(r.counts.evaluated for r in group)))
    return result


def compare_context(views: list[CampaignView], out_dir: Path) -> dict[str, Any]:
    rows = [_row(view, views, index, out_dir) for index, view in enumerate(views)]
    series = [plots.Series(label=row.label, color=row.color, points=summary.progress(row.view),
                           experiments=row.view.experiments, front=summary.pareto_front(row.view.experiments))
              for row in rows]
    specs = [v.spec for v in views if v.spec is not None]
    target = specs[0].target if specs else None
    max_params = specs[0].constraints.max_params if specs else None
    has_times = any(p.minutes is not None for s in series for p in s.points)
    images = {
        "progress_evals": save_image(out_dir, FILES_DIR, "best_vs_evaluations.png", plots.progress_plot(
            series, x="evaluation", target=target, title="Best validation accuracy against evaluations"),
            "best so far against evaluations, one line per campaign"),
        "progress_time": save_image(out_dir, FILES_DIR, "best_vs_time.png", plots.progress_plot(
            series, x="minutes", target=target, title="Best validation accuracy against time"),
            "best so far against time, one line per campaign") if has_times else None,
        "pareto": save_image(out_dir, FILES_DIR, "pareto.png", plots.pareto_plot(
            series, max_params=max_params, target=target, title="Pareto fronts: accuracy against size"),
            "Pareto fronts of all campaigns"),
    }
    pooled = [(row.label, exp) for row in rows for exp in summary.leaderboard(row.view.experiments)]
    pooled.sort(key=lambda item: (-(item[1].result.val_accuracy or 0.0), item[1].result.params or 0, item[0], item[1].id))
    goals = sorted({s.goal for s in specs})
    return {"rows": rows, "strategies": _strategy_rows(rows), "images": images,
            "leaderboard": pooled[:LEADERBOARD_ROWS], "goals": goals, "target": target,
            "generated_at": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")}


def compare(campaign_dirs: list[str | Path], out_dir: str | Path) -> tuple[Path, Path]:
    """Write compare.md and compare.html into `out_dir`; return their paths.

    Raises ReportError (one line) for an empty list or a folder that is not a campaign.
    """
    if not campaign_dirs:
        raise ReportError("compare needs at least one campaign folder")
    views = [load_campaign(path) for path in campaign_dirs]
    target_dir = Path(out_dir).resolve()
    if target_dir.exists() and not target_dir.is_dir():
        raise ReportError(f"output path is a file, not a folder: {target_dir}")
    target_dir.mkdir(parents=True, exist_ok=True)
    context = compare_context(views, target_dir)
    markdown_path, html_path = target_dir / "compare.md", target_dir / "compare.html"
    atomic_write(markdown_path, render("compare.md", **context))
    atomic_write(html_path, render("compare.html", **context))
    return markdown_path, html_path
