"""`archlab export DIR [EXP_ID] -o model.py`: a standalone PyTorch file, with the trained weights beside it.

The file names what it holds in its docstring (experiment, metrics, the task's
input shape and classes). Weights exist for confirmed candidates only (the
confirmation stage keeps each run's checked safetensors file); exporting a
candidate exports the weights of its first confirmation run, exporting a
confirmation run its own. A lookup (table) result has no weights: the table
holds one number per cell, so the file is the architecture alone.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from archlab import tools
from archlab.campaign.checks import load_checked_task
from archlab.campaign.errors import UsageError
from archlab.campaign.settings import CampaignSettings
from archlab.campaign.status import campaign_best, load_records, scored
from archlab.campaign.workspace import Workspace
from archlab.errors import one_line
from archlab.records import BEST_RULE, Pick, confirmation_source, rank_candidates

if TYPE_CHECKING:
    from archlab.sandbox import Task


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.2f}%"


def export_model(folder: Path, exp: str | None, out: Path) -> list[str]:
    """Write `out` (and its weights beside it, `out` with the suffix .safetensors); lines to print."""
    ws = Workspace.open(folder)
    records = load_records(ws)
    by_id = {r["id"]: r for r in records}
    best = campaign_best(records)
    if exp is None:
        if best is None:
            raise UsageError(f"{folder} has no successful experiment to export yet")
        exp = best.id
    if exp not in by_id:
        raise UsageError(f"{ws.root} has no experiment {exp!r} (ids look like e0001)")
    record = by_id[exp]
    spec = ws.load_spec()
    settings = CampaignSettings.model_validate(ws.load_state().settings or {})
    task = load_checked_task(spec.task, settings)
    pick = next((p for p in rank_candidates([scored(r) for r in records])
                 if p.id == (confirmation_source(record.get("edit")) or exp)), None)
    weights_run = _weights_run(record, pick, by_id)
    weights = ws.root / weights_run["result"]["weights_file"] if weights_run is not None else None
    about = _about(spec.task, task, record, pick, weights_run, best)
    target_weights = out.with_suffix(".safetensors")
    try:
        arch = tools.Arch.model_validate(record["arch"])
        source = tools.render(arch, tuple(task.input_shape), task.num_classes,
                              weights_file=target_weights.name if weights is not None else None, about=about)
    except Exception as exc:
        raise UsageError(f"{exp} cannot be rendered: {one_line(exc)}") from None
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(source, encoding="utf-8")
    lines = [f"Wrote {out} ({exp})"]
    if weights is not None and weights.is_file():
        shutil.copyfile(weights, target_weights)
        lines.append(f"Wrote {target_weights} (trained weights of {weights_run['id']}: "
                     f"build_model(pretrained=True) loads them)")
    elif task.kind == "lookup":
        lines.append("A lookup result has no trained weights (the table holds one number per cell): "
                     "the file is the architecture, untrained.")
    else:
        lines.append(f"No trained weights for {exp}: only confirmed candidates keep theirs "
                     f"(`archlab confirm {ws.root}` trains the top candidates again and keeps them); "
                     "the file is the architecture, untrained.")
    return lines


def _weights_run(record: dict[str, Any], pick: Pick | None, by_id: dict[str, dict[str, Any]]) -> dict[str, Any] | None:
    """The run whose weights go with this export: a confirmation run's own, a candidate's first confirmation run's."""
    if confirmation_source(record.get("edit")) is not None:
        return record if record["result"].get("weights_file") else None
    if pick is not None and pick.weights_id is not None:
        return by_id.get(pick.weights_id)
    return None


def _about(task_name: str, task: Task, record: dict[str, Any], pick: Pick | None, weights_run: dict[str, Any] | None,
           best: Pick | None) -> list[str]:
    """The docstring's lines: which experiment, its metrics, the task (validation decides; test is reported)."""
    result = record["result"]
    shape = "x".join(str(d) for d in task.input_shape)
    lines = [f"Experiment {record['id']} of campaign {record.get('campaign') or '?'}; task {task_name}: input "
             f"{shape} ({tuple(task.input_shape)} without batch), {task.num_classes} classes.",
             f"This run: validation {_pct(result.get('val_accuracy'))}, test {_pct(result.get('test_accuracy'))}, "
             f"{result.get('params') or 0:,} parameters, fidelity {result.get('fidelity', 1.0):g}, "
             f"training seed {(record.get('edit') or {}).get('seed', 'of the campaign')}."]
    if pick is not None and pick.confirmed:
        spread = f" +/- {100 * pick.val_std:.2f}" if pick.val_std is not None else ""
        test_spread = f" +/- {100 * pick.test_std:.2f}" if pick.test_std is not None else ""
        lines.append(f"Candidate {pick.id} confirmed over {pick.n_seeds} seeds: validation {_pct(pick.val_mean)}"
                     f"{spread} (mean +/- std), test {_pct(pick.test_mean)}{test_spread} (reported, never used to pick).")
    if weights_run is not None:
        r = weights_run["result"]
        lines.append(f"Weights: run {weights_run['id']} (seed {(weights_run.get('edit') or {}).get('seed')}): "
                     f"validation {_pct(r.get('val_accuracy'))}, test {_pct(r.get('test_accuracy'))}.")
    if best is not None and pick is not None and best.id == pick.id:
        lines.append(f"The campaign's best by its rule: {BEST_RULE}.")
    return lines
