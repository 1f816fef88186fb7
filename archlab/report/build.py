"""Build report.md and report.html for one campaign folder.

The campaign calls `build_report` after experiments finish, so it must be quick
and must work on a half-written folder: learning-curve figures of finished
experiments are cached under report_files/curves/ and only redrawn when their
record.json is newer; everything else is recomputed from the files each time.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from markupsafe import Markup
from pydantic import BaseModel

from archlab.records import BEST_RULE, Pick
from archlab.report import plots, summary
from archlab.report.loader import CampaignView, ExperimentView, load_campaign
from archlab.report.render import Image, atomic_write, python_html, render, save_image
from archlab.report.tree import DiffLine, tree_diagram, tree_stats, unified_diff

FILES_DIR = "report_files"
LEADERBOARD_ROWS = 15


class ExperimentSection(BaseModel):
    """What one experiment's section shows."""

    exp: ExperimentView
    parent: ExperimentView | None
    diff: list[DiffLine]
    diff_of: str  # "model.py" or "arch.json": what the diff compares
    curve: Image | None
    tree: str
    code_html: str  # highlighted model.py (HTML), empty when there is no code


def _spec_rows(view: CampaignView) -> list[tuple[str, str]]:
    """The spec as (field, value) rows, nested models flattened to `a.b`, unset ones left out."""
    if view.spec is None:
        return []
    rows: list[tuple[str, str]] = []
    for key, value in view.spec.model_dump().items():
        if key == "goal_terms":  # its own table: what the goal meant
            continue
        if isinstance(value, dict):  # constraints, budget, confirm: only the values that are set
            rows.extend((f"{key}.{k}", _plain(v)) for k, v in value.items() if v is not None)
        elif key == "confirm":
            rows.append((key, "none (no confirmation stage; the notes say why)"))
        elif value not in (None, [], ""):
            rows.append((key, _plain(value)))
    return rows


class ConfirmedRow(BaseModel):
    """A confirmed candidate and its confirmation runs, for the report's confirmation table."""

    pick: Pick
    exp: ExperimentView
    runs: list[ExperimentView]


def _plain(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, list):
        return ", ".join(map(str, value)) or "–"
    return str(value)


def _fresh(cached: Path, source: Path) -> bool:
    """True when `cached` was made from the current `source` (finished experiments never change)."""
    try:
        return cached.is_file() and cached.stat().st_mtime >= source.stat().st_mtime
    except OSError:
        return False


def _curve_image(view: CampaignView, exp: ExperimentView) -> Image | None:
    """The experiment's learning curve, redrawn only when its record changed."""
    cached = view.path / FILES_DIR / "curves" / f"{exp.id}.png"
    alt = f"learning curve of {exp.id}"
    if _fresh(cached, view.path / "experiments" / exp.id / "record.json"):
        return Image(relpath=f"{FILES_DIR}/curves/{exp.id}.png", png=cached.read_bytes(), alt=alt)
    return save_image(view.path, f"{FILES_DIR}/curves", f"{exp.id}.png", plots.learning_curve_plot(exp), alt)


def _code_html(view: CampaignView, exp: ExperimentView) -> Markup:
    """Highlighted model.py, cached like the curves: highlighting dominates a refresh."""
    if not exp.code:
        return Markup("")
    cached = view.path / FILES_DIR / "code" / f"{exp.id}.html"
    if _fresh(cached, view.path / "experiments" / exp.id / "model.py"):
        return Markup(cached.read_text(encoding="utf-8"))
    fragment = python_html(exp.code)
    atomic_write(cached, str(fragment))
    return fragment


def _arch_text(exp: ExperimentView) -> str:
    return json.dumps(exp.arch, indent=1, sort_keys=True) if exp.arch else ""


def _section(view: CampaignView, exp: ExperimentView) -> ExperimentSection:
    parent = view.by_id.get(exp.parent_id) if exp.parent_id else None
    diff: list[DiffLine] = []
    diff_of = "model.py"
    if parent is not None:
        if exp.code and parent.code:
            diff = unified_diff(parent.code, exp.code, f"{parent.id}/model.py", f"{exp.id}/model.py")
        else:
            diff_of = "arch.json"
            diff = unified_diff(_arch_text(parent), _arch_text(exp), f"{parent.id}/arch.json", f"{exp.id}/arch.json")
    return ExperimentSection(exp=exp, parent=parent, diff=diff, diff_of=diff_of,
                             curve=_curve_image(view, exp), tree=tree_diagram(exp.arch),
                             code_html=_code_html(view, exp))


def _experiment_insights(view: CampaignView) -> list[str]:
    """Until the analyst distils insights.json, the per-experiment insights (unique, in order)."""
    seen: dict[str, None] = {}
    for exp in view.experiments:
        for text in exp.insights:
            seen.setdefault(text.strip(), None)
    return [text for text in seen if text]


def report_context(view: CampaignView) -> dict[str, Any]:
    """Everything the report templates need, computed once for both formats."""
    spec = view.spec
    target = spec.target if spec else None
    max_params = spec.constraints.max_params if spec else None
    best = summary.best(view.experiments)  # the one rule (records.BEST_RULE), as everywhere else
    board = summary.ranked(view.experiments)
    points = summary.progress(view)
    color = plots.color_for(view.strategy, 0)
    line = plots.Series(label=f"best so far ({view.strategy})", color=color, points=points,
                        experiments=view.experiments, front=summary.pareto_front(view.experiments))
    has_times = any(p.minutes is not None for p in points)
    failure_counts = summary.failures_by_kind(view.experiments)
    folder = view.path
    images = {
        "progress_evals": save_image(folder, FILES_DIR, "best_vs_evaluations.png", plots.progress_plot(
            [line], x="evaluation", target=target, show_evaluations=True,
            title="Best validation accuracy against evaluations"), "best so far against evaluations")
        if points else None,
        "progress_time": save_image(folder, FILES_DIR, "best_vs_time.png", plots.progress_plot(
            [line], x="minutes", target=target, show_evaluations=True,
            title="Best validation accuracy against time"), "best so far against time")
        if has_times else None,
        "pareto": save_image(folder, FILES_DIR, "pareto.png", plots.pareto_plot(
            [line], max_params=max_params, target=target, highlight=best,
            title="Accuracy against size (Pareto front)"), "Pareto front of accuracy against parameters")
        if best is not None else None,
        "failures": save_image(folder, FILES_DIR, "failures.png", plots.failures_plot(
            failure_counts, "Failed evaluations by kind"), "failures by kind"),
    }
    return {
        "view": view,
        "spec": spec,
        "spec_rows": _spec_rows(view),
        "generated_at": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"),
        "counts": summary.status_counts(view),
        "finished": view.state.get("status", "running") != "running" or bool(view.state.get("finished")),
        "run_status": str(view.state.get("status", "")),
        "stop_reason": str(view.state.get("stop_reason", "")),
        "insights": view.insights or _experiment_insights(view),
        "insights_distilled": bool(view.insights),
        "modules": view.modules,
        "leaderboard": [row.exp for row in board[:LEADERBOARD_ROWS]],
        "board": board[:LEADERBOARD_ROWS],
        "best": best,
        "best_pick": board[0].pick if board else None,
        "best_rule": BEST_RULE,
        "confirmed": [ConfirmedRow(pick=row.pick, exp=row.exp, runs=summary.confirmation_runs(view.experiments, row.exp.id))
                      for row in board if row.pick.confirmed],
        "confirm_note": str(view.state.get("confirm_note") or ""),
        "goal_terms": spec.goal_terms if spec else [],
        "objectives": spec.objectives if spec else [],
        "flops_front": summary.pareto_front(view.experiments, "flops") if spec and "flops" in spec.objectives else [],
        "best_tree": tree_diagram(best.arch) if best else "",
        "best_tree_stats": tree_stats(best.arch) if best else (0, 0),
        "lineage": summary.lineage(view, best.id) if best else [],
        "front": line.front,
        "images": images,
        "failure_counts": failure_counts,
        "failed": [e for e in view.experiments if not e.result.ok],
        "first_line": summary.first_line,
        "usage": sorted(view.usage.items()),
        "usage_total": view.usage_total,
        "sections": [_section(view, exp) for exp in view.experiments],
    }


def build_report(campaign_dir: str | Path) -> tuple[Path, Path]:
    """Write report.md and report.html into the campaign folder; return their paths.

    Raises ReportError (one line) when the folder is missing or not a campaign.
    """
    view = load_campaign(campaign_dir)
    context = report_context(view)
    markdown_path, html_path = view.path / "report.md", view.path / "report.html"
    atomic_write(markdown_path, render("report.md", **context))
    atomic_write(html_path, render("report.html", **context))
    return markdown_path, html_path
