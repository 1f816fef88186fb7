"""Matplotlib figures for the report, returned as PNG bytes.

Figures are built with the object API on an explicit Agg canvas (never pyplot),
so building a report keeps no global figure state and works in any thread or
worker without a display. Accuracy axes are in percent; every axis says its unit.
"""

from __future__ import annotations

import io

from matplotlib.axes import Axes
from matplotlib.axis import Axis
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter, PercentFormatter
from pydantic import BaseModel

from archlab.report.loader import ExperimentView
from archlab.report.summary import ProgressPoint

STRATEGY_COLORS = {"agentic": "#1f77b4", "evolution": "#ff7f0e", "random": "#2ca02c"}
EXTRA_COLORS = ["#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]
DPI = 100


class Series(BaseModel):
    """One campaign's line on a comparison plot."""

    label: str
    color: str
    points: list[ProgressPoint]
    experiments: list[ExperimentView] = []
    front: list[ExperimentView] = []


def color_for(strategy: str, index: int) -> str:
    return STRATEGY_COLORS.get(strategy, EXTRA_COLORS[index % len(EXTRA_COLORS)])


def _new_figure(width: float = 7.5, height: float = 4.2, right: float = 0.97) -> tuple[Figure, Axes]:
    # Fixed margins rather than constrained layout: the report is refreshed during a
    # run and constrained layout costs several times the drawing itself.
    figure = Figure(figsize=(width, height), dpi=DPI)
    figure.subplots_adjust(left=0.6 / width, right=right, bottom=0.55 / height, top=1 - 0.4 / height)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.grid(True, alpha=0.3)
    return figure, axes


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def _percent_axis(axis: Axis) -> None:
    axis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=0))


def _short_count(value: float) -> str:
    for unit, size in (("M", 1e6), ("k", 1e3)):
        if value >= size:
            return f"{value / size:g}{unit}"
    return f"{value:g}"


def _target_line(axes: Axes, target: float | None) -> None:
    if target is not None:
        axes.axhline(target, color="#d62728", linestyle="--", linewidth=1, label=f"target {target:.1%}")


def progress_plot(series: list[Series], *, x: str, target: float | None, title: str,
                  show_evaluations: bool = False) -> bytes:
    """Best-so-far validation accuracy against evaluations (x="evaluation") or minutes."""
    figure, axes = _new_figure()
    for line in series:
        points = [p for p in line.points if getattr(p, x) is not None]
        xs = [getattr(p, x) for p in points if p.best is not None]
        ys = [p.best for p in points if p.best is not None]
        axes.step(xs, ys, where="post", color=line.color, linewidth=2, label=line.label)
        if show_evaluations:
            ok = [(getattr(p, x), p.val_accuracy) for p in points if p.val_accuracy is not None]
            axes.scatter([a for a, _ in ok], [b for _, b in ok], s=14, color="#999999",
                         alpha=0.7, label="each evaluation", zorder=1)
            failed = [getattr(p, x) for p in points if p.val_accuracy is None]
            if failed:
                bottom = min([b for _, b in ok] or [0.0])
                axes.scatter(failed, [bottom] * len(failed), marker="x", color="#d62728",
                             s=22, label="failed evaluation", zorder=2)
    _target_line(axes, target)
    axes.set_xlabel("evaluations (count)" if x == "evaluation" else "wall-clock time since start (minutes)")
    axes.set_ylabel("validation accuracy (%)")
    _percent_axis(axes.yaxis)
    axes.set_title(title)
    if axes.get_legend_handles_labels()[0]:
        axes.legend(loc="best", fontsize=8, framealpha=0.9)
    return _png(figure)


def pareto_plot(series: list[Series], *, max_params: int | None, target: float | None,
                title: str, highlight: ExperimentView | None = None) -> bytes:
    """Validation accuracy against parameter count; the non-dominated front joined up."""
    figure, axes = _new_figure()
    single = len(series) == 1
    for line in series:
        points = [e for e in line.experiments if e.ok and e.result.params]
        axes.scatter([e.result.params for e in points], [e.result.val_accuracy for e in points],
                     s=18, color="#aaaaaa" if single else line.color, alpha=0.6 if single else 0.35,
                     label="all successful candidates" if single else None)
        front = [e for e in line.front if e.result.params]
        axes.plot([e.result.params for e in front], [e.result.val_accuracy for e in front],
                  marker="o", drawstyle="steps-post", color=line.color, linewidth=2,
                  label="Pareto front" if single else f"{line.label} front")
        if single:
            for exp in front:
                axes.annotate(exp.id, (exp.result.params, exp.result.val_accuracy), fontsize=7,
                              xytext=(3, 4), textcoords="offset points")
    if highlight is not None and highlight.result.params:
        axes.scatter([highlight.result.params], [highlight.result.val_accuracy], marker="*", s=220,
                     color="#ffbf00", edgecolor="black", zorder=5, label=f"best ({highlight.id})")
    if max_params is not None:
        axes.axvline(max_params, color="#7f7f7f", linestyle=":", linewidth=1.5,
                     label=f"max params {max_params:,}")
    _target_line(axes, target)
    axes.set_xscale("log")
    # Plain "2k, 5k, 10k" ticks read better than 2×10³ (and skip mathtext).
    axes.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axes.xaxis.set_major_formatter(FuncFormatter(lambda value, _: _short_count(value)))
    axes.xaxis.set_minor_formatter(NullFormatter())
    axes.set_xlabel("parameters (count, log scale)")
    axes.set_ylabel("validation accuracy (%)")
    _percent_axis(axes.yaxis)
    axes.set_title(title)
    if axes.get_legend_handles_labels()[0]:
        axes.legend(loc="lower right", fontsize=8)
    return _png(figure)


def learning_curve_plot(exp: ExperimentView) -> bytes | None:
    """Training loss and validation accuracy against optimisation steps (None if no curve)."""
    curve = exp.result.curve
    if not curve:
        return None
    figure, axes = _new_figure(5.6, 2.8, right=1 - 0.65 / 5.6)
    axes.plot([p.step for p in curve], [p.train_loss for p in curve], color="#1f77b4",
              marker=".", label="train loss")
    axes.set_xlabel("optimisation step (count)")
    axes.set_ylabel("train loss (cross-entropy)", color="#1f77b4")
    scored = [p for p in curve if p.val_accuracy is not None]
    if scored:
        right = axes.twinx()
        right.plot([p.step for p in scored], [p.val_accuracy for p in scored], color="#ff7f0e",
                   marker="o", markersize=3, label="validation accuracy")
        right.set_ylabel("validation accuracy (%)", color="#ff7f0e")
        _percent_axis(right.yaxis)
    axes.set_title(f"{exp.id}: learning curve (fidelity {exp.result.fidelity:.0%})", fontsize=10)
    return _png(figure)


def failures_plot(counts: list[tuple[str, int]], title: str) -> bytes | None:
    """A bar per failure kind; None when nothing failed."""
    if not counts:
        return None
    figure, axes = _new_figure(6.0, 2.8)
    kinds = [kind for kind, _ in counts]
    axes.grid(False, axis="x")
    axes.bar(kinds, [n for _, n in counts], color="#d62728", alpha=0.8)
    axes.set_xlabel("failure kind")
    axes.set_ylabel("failed evaluations (count)")
    axes.yaxis.get_major_locator().set_params(integer=True)
    axes.set_title(title)
    return _png(figure)
