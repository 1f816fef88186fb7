"""The `archlab` command (Typer): run, watch, resume, report, inspect, export, replay.

Exit codes: 0 done, 1 the run failed, 2 bad usage. Every error is one line on
stderr; `--debug` (before the command) shows the traceback as well.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import os
import re
import sys
import traceback
import webbrowser
from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import click
import typer

try:  # recent Typer vendors its own copy of Click and raises its exception classes
    from typer._click import exceptions as _typer_click
except ImportError:  # pragma: no cover - older Typer uses Click itself
    _typer_click = click.exceptions

from archlab.campaign import (
    CampaignError,
    CampaignSettings,
    CampaignSummary,
    UsageError,
    Workspace,
    check_flags,
    confirm_campaign,
    export_model,
    make_view,
    merge_options,
    model_sources,
    plan_spec,
    read_config,
    reindex_campaign,
    replay_campaign,
    resume_campaign,
    run_campaign,
    serve_mock_model,
    settings_from,
    status_json,
    summarize,
)
from archlab.errors import one_line

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False, no_args_is_help=True,
                  help="Discover neural-network architectures with language-model agents.")

# `archlab run GOAL` naming no budget at all (no minutes, no evaluations: not in the goal, the flags or the
# config file) gets this time budget, on top of Budget's default evaluation cap, and the spec says so in a
# note; a person who gives any budget gets exactly that budget.
DEFAULT_MINUTES = 5.0  # finishes in a few minutes on 2 cores


class StrategyName(str, Enum):
    agentic = "agentic"
    evolution = "evolution"
    random = "random"


class ExecutorKind(str, Enum):
    local = "local"
    ray = "ray"


class StructuredMode(str, Enum):
    auto = "auto"
    on = "on"
    off = "off"


class CoderKind(str, Enum):
    model = "model"
    random = "random"


@app.callback()
def _root(debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False) -> None:
    """archlab: neural-architecture discovery with language-model agents."""


def _err(message: str) -> None:
    typer.echo(f"archlab: {message}", err=True)


def _notice(line: str) -> None:
    """A campaign's one-line notice (e.g. waiting for a memory folder), on stderr like errors."""
    _err(one_line(line, 1000))


# ---- run ----------------------------------------------------------------------------------


def default_out(strategy: str | None) -> Path:
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path("runs") / f"{strategy or 'campaign'}-{stamp}"


@app.command()
def run(
    goal: Annotated[str, typer.Argument(help="What to find, in plain words.")],
    task: Annotated[str | None, typer.Option(help="mnist1d, npz:PATH or table:PATH.")] = None,
    out: Annotated[Path | None, typer.Option(help="Campaign folder (default runs/STRATEGY-TIME).")] = None,
    strategy: Annotated[StrategyName | None, typer.Option(help="Search strategy.")] = None,
    model: Annotated[str | None, typer.Option(help="mock, or a litellm model string.")] = None,
    api_base: Annotated[str | None, typer.Option(help="Base URL of an OpenAI-compatible server.")] = None,
    budget_minutes: Annotated[float | None, typer.Option(help="Wall-clock budget in minutes.")] = None,
    max_evals: Annotated[int | None, typer.Option(help="Evaluation budget.")] = None,
    max_params: Annotated[int | None, typer.Option(help="Parameter cap for every candidate.")] = None,
    workers: Annotated[int | None, typer.Option(help="Evaluations in parallel.")] = None,
    executor: Annotated[ExecutorKind | None, typer.Option(help="local worker pool or ray.")] = None,
    ray_address: Annotated[str | None, typer.Option(help="Ray cluster address.")] = None,
    memory: Annotated[Path | None, typer.Option(help="Shared memory folder (Chroma).")] = None,
    chroma_url: Annotated[str | None, typer.Option(help="Chroma server URL.")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed of the whole campaign.")] = None,
    seed_arch: Annotated[list[str] | None, typer.Option(
        help="Starting architecture (repeatable): mlp, mnist1d_cnn, nb201 or nb201:CELL.")] = None,
    config: Annotated[Path | None, typer.Option(help="YAML file with the same keys.")] = None,
    coder: Annotated[CoderKind | None, typer.Option(
        help="Agentic: who picks from the search's menu: the coder model, or a seeded uniform random "
             "entry (to measure what the model adds).")] = None,
    unsafe_sandbox: Annotated[bool, typer.Option(
        "--unsafe-sandbox", help="Run model-written modules even where the OS jail (bubblewrap) is unavailable, "
                                 "with weaker isolation. See docs/SANDBOX.md.")] = False,
    structured: Annotated[StructuredMode | None, typer.Option(
        help="Send each answer's JSON schema to the model (auto: where it takes one).")] = None,
    allow_fallback: Annotated[bool, typer.Option(
        "--allow-fallback", help="If the model cannot be reached, run on the search's own choices "
                                 "instead of stopping.")] = False,
    memory_wait: Annotated[float | None, typer.Option(
        help="Seconds to wait for a memory folder another campaign holds (default: as long as it takes; "
             "0: refuse at once).")] = None,
) -> None:
    """Plan a campaign from GOAL, print the spec, run it, and say where the report is."""
    flags = check_flags({
        "task": task, "out": out, "strategy": strategy.value if strategy else None, "model": model,
        "api_base": api_base, "budget_minutes": budget_minutes, "max_evals": max_evals,
        "max_params": max_params, "workers": workers, "executor": executor.value if executor else None,
        "ray_address": ray_address, "memory": memory, "chroma_url": chroma_url, "seed": seed,
        "seed_arch": seed_arch or None, "unsafe_sandbox": unsafe_sandbox or None,
        "structured": structured.value if structured else None, "allow_fallback": allow_fallback or None,
        "memory_wait": memory_wait, "coder": coder.value if coder else None})
    options = merge_options(flags, read_config(config))
    settings = settings_from(options)
    overrides = {"task": options.get("task"), "strategy": options.get("strategy"), "model": options.get("model"),
                 "seed": options.get("seed"), "minutes": options.get("budget_minutes"),
                 "max_evals": options.get("max_evals"), "max_params": options.get("max_params"),
                 "max_flops": options.get("max_flops"), "max_latency_ms": options.get("max_latency_ms"),
                 "max_tokens": options.get("max_tokens"), "max_cost_usd": options.get("max_cost_usd"),
                 "seed_archs": _as_list(options.get("seed_arch"))}
    spec = plan_spec(goal, {k: v for k, v in overrides.items() if v is not None}, settings)
    spec = with_default_budget(spec)
    out_dir = Path(options.get("out") or default_out(spec.strategy))
    typer.echo("The planner made this spec:")
    typer.echo(spec.model_dump_json(indent=2))
    typer.echo(f"Campaign folder: {out_dir}")
    _run_with_view(lambda s: run_campaign(spec, out_dir, s), settings)


def with_default_budget(spec: Any) -> Any:
    """The spec, with DEFAULT_MINUTES added (and said in a note) only when it has no budget the person gave:
    neither minutes nor evaluations in the goal, the flags or the config file."""
    named = spec.budget.model_fields_set & {"minutes", "max_evals"}
    if spec.budget.minutes is not None or named:
        return spec
    note = (f"no budget given: the default of {DEFAULT_MINUTES:g} minutes or {spec.budget.max_evals} evaluations, "
            "whichever comes first (give --budget-minutes or --max-evals to choose)")
    return spec.model_copy(update={"budget": spec.budget.model_copy(update={"minutes": DEFAULT_MINUTES}),
                                   "notes": [*spec.notes, note]})


def _as_list(value: Any) -> list[str] | None:
    """A flag given once or repeated, or a YAML string or list, as a list (None when absent)."""
    if value is None:
        return None
    return [str(v) for v in value] if isinstance(value, (list, tuple)) else [str(value)]


def _run_with_view(start: Any, settings: CampaignSettings) -> None:
    with make_view() as view:
        summary = start(settings.model_copy(update={"progress": view, "notice": _notice}))
    _print_outcome(summary)


def _print_outcome(summary: CampaignSummary) -> None:
    best = summary.best
    typer.echo(f"Campaign {summary.status}: {summary.stop_reason} ({summary.evaluated} evaluated, "
               f"{summary.failed} failed, {summary.cached} cached, {summary.rejected} rejected)")
    if summary.confirmation:
        typer.echo(f"Confirmation: {summary.confirmation}")
    if best is not None:
        typer.echo(f"Best: {_best_line(best)}")
    if summary.report_html:
        typer.echo(f"Report: {summary.report_html}")
        typer.echo(f"        {summary.report_md}")
    if summary.status == "failed":
        raise CampaignError(summary.error or "the campaign failed")


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.2f}%"


def _best_line(best: Any) -> str:
    """The best as one line: mean ± std over its confirmation seeds when confirmed, else its one run."""
    if best.confirmed:
        spread = f" ± {100 * best.val_std:.2f}" if best.val_std is not None else ""
        return (f"{best.id} val {_pct(best.val_mean)}{spread} over {best.n_seeds} seeds, test {_pct(best.test_mean)} "
                f"(report only) ({best.params or 0:,} params)")
    return (f"{best.id} val {_pct(best.val_accuracy)} test {_pct(best.test_accuracy)} ({best.params or 0:,} params; "
            "one run, not confirmed)")


# ---- looking at campaigns ---------------------------------------------------------------------------


@app.command()
def status(
    folder: Annotated[Path, typer.Argument(help="Campaign folder.")],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Summarise a campaign (running or finished)."""
    summary = summarize(folder)
    if as_json:
        typer.echo(status_json(summary))
        return
    typer.echo(f"{summary.dir}: {summary.status} {('- ' + summary.stop_reason) if summary.stop_reason else ''}")
    typer.echo(f"goal: {summary.goal}")
    typer.echo(f"strategy {summary.strategy}, seed {summary.seed}, model {summary.model}, task {summary.task}")
    typer.echo(f"evaluated {summary.evaluated}, failed {summary.failed}, cached {summary.cached}, "
               f"rejected {summary.rejected}, {summary.elapsed_s / 60:.1f} min")
    if summary.best:
        typer.echo(f"best {_best_line(summary.best)}")
    if summary.confirmation:
        typer.echo(f"confirmation: {summary.confirmation}")
    llm = summary.llm
    faults = ", ".join(f"{kind} {n}" for kind, n in llm.faults.items() if n) or "none"
    typer.echo(f"model calls {llm.calls} (retries {llm.retries}, fallbacks {llm.fallbacks}), "
               f"{llm.tokens:,} tokens, ${llm.cost_usd:.4f}; faults: {faults}")


@app.command()
def resume(
    folder: Annotated[Path, typer.Argument(help="Campaign folder to continue.")],
    allow_fallback: Annotated[bool, typer.Option(
        "--allow-fallback", help="If the model cannot be reached, run on the search's own choices.")] = False,
    memory_wait: Annotated[float | None, typer.Option(
        help="Seconds to wait for a memory folder another campaign holds (default: no limit).")] = None,
) -> None:
    """Continue a stopped or killed campaign (budgets carry over); a finished one is left as it is."""
    Workspace.open(folder)
    summary = summarize(folder)
    if summary.status == "done":
        typer.echo(f"{folder} is finished ({summary.stop_reason or 'done'}): nothing to resume; "
                   f"`archlab report {folder}` writes its report")
        return
    given = check_flags({"allow_fallback": allow_fallback or None, "memory_wait": memory_wait})
    settings = CampaignSettings(**{k: v for k, v in (("allow_fallback", given["allow_fallback"]),
                                                     ("memory_wait_s", given["memory_wait"])) if v is not None})
    _run_with_view(lambda s: resume_campaign(folder, s), settings)


@app.command()
def report(
    folders: Annotated[list[Path], typer.Argument(help="Campaign folder(s).")],
    open_: Annotated[bool, typer.Option("--open", help="Open the HTML report in a browser.")] = False,
    compare_: Annotated[bool, typer.Option("--compare", help="Compare the campaigns.")] = False,
    out: Annotated[Path | None, typer.Option("-o", "--out", help="Folder for the comparison.")] = None,
) -> None:
    """Write report.md/report.html, or compare several campaigns into -o DIR."""
    from archlab.report import ReportError, build_report, compare

    for folder in folders:
        Workspace.open(folder)
    try:
        if compare_:
            if out is None:
                raise UsageError("--compare needs -o DIR for the comparison")
            md, html = compare(folders, out)
        else:
            if len(folders) > 1:
                raise UsageError("several folders need --compare -o DIR")
            md, html = build_report(folders[0])
    except ReportError as exc:
        raise UsageError(one_line(exc)) from None
    typer.echo(f"Report: {html}\n        {md}")
    if open_:
        webbrowser.open(Path(html).resolve().as_uri())


def _record(ws: Workspace, exp: str) -> dict[str, Any]:
    if not re.fullmatch(r"e\d+", exp) or exp not in ws.finished_ids():
        raise UsageError(f"{ws.root} has no experiment {exp!r} (ids look like e0001)")
    return ws.read_record_json(exp)


@app.command()
def show(folder: Annotated[Path, typer.Argument()], exp_id: Annotated[str, typer.Argument()]) -> None:
    """Show one experiment: tree, code, diff against its parent, metrics, analysis."""
    ws = Workspace.open(folder)
    record = _record(ws, exp_id)
    result = record["result"]
    typer.echo(f"{exp_id}  parents: {', '.join(record.get('parent_ids') or []) or 'seed'}")
    edit = record.get("edit")
    typer.echo(f"edit: {json.dumps(edit) if edit else 'none (seed)'}")
    typer.echo("tree:\n" + _tree_text(record["arch"]))
    keys = ("status", "failure", "val_accuracy", "test_accuracy", "params", "flops", "latency_ms",
            "wall_s", "steps", "fidelity", "cached")
    typer.echo("metrics: " + ", ".join(f"{k}={result.get(k)}" for k in keys if result.get(k) is not None))
    if result.get("error"):
        typer.echo("error: " + result["error"].splitlines()[0])
    parent = next((p for p in record.get("parent_ids") or [] if p in ws.finished_ids()), None)
    code, *parent_code = model_sources(ws, [exp_id] + ([parent] if parent else []))  # a lightweight
    typer.echo("code (model.py):\n" + code)  # campaign's are rendered now, the task loaded once
    if parent:
        before = parent_code[0].splitlines(keepends=True)
        diff = difflib.unified_diff(before, code.splitlines(keepends=True), f"{parent}/model.py", f"{exp_id}/model.py")
        typer.echo("diff against parent:\n" + "".join(diff))
    from archlab.report import decision_lines

    typer.echo("decision:")
    for line in decision_lines(record):
        typer.echo(f"  {line}")
    typer.echo("analysis: " + (record.get("analysis") or "(none)"))
    for insight in record.get("insights") or []:
        typer.echo(f"  - {insight}")


def _tree_text(node: dict[str, Any], depth: int = 0) -> str:
    """An indented outline of an Arch JSON (`root`/nodes with op, params, children)."""
    if "root" in node and "op" not in node:
        node = node["root"]
    params = ", ".join(f"{k}={v}" for k, v in (node.get("params") or {}).items())
    lines = ["  " * depth + f"{node.get('op')}({params})"]
    for child in node.get("children") or []:
        lines.append(_tree_text(child, depth + 1))
    return "\n".join(lines)


@app.command()
def export(
    folder: Annotated[Path, typer.Argument()],
    exp_id: Annotated[str | None, typer.Argument(help="Experiment (default: the campaign's best).")] = None,
    out: Annotated[Path, typer.Option("-o", "--out", help="Where to write the standalone file.")] = Path("model.py"),
) -> None:
    """Write a standalone PyTorch file defining build_model(), and its trained weights beside it
    (OUT with .safetensors; build_model(pretrained=True) loads them) when the experiment has any."""
    if exp_id is not None and not re.fullmatch(r"e\d+", exp_id):
        raise UsageError(f"{folder} has no experiment {exp_id!r} (ids look like e0001)")
    for line in export_model(folder, exp_id, out):
        typer.echo(line)


@app.command()
def confirm(
    folder: Annotated[Path, typer.Argument(help="A finished campaign.")],
    top_k: Annotated[int | None, typer.Option(help="Candidates to confirm (default: the spec's, else 3).")] = None,
    seeds: Annotated[int | None, typer.Option(help="Fresh seeds per candidate (default: the spec's, else 3).")] = None,
) -> None:
    """Train the top candidates again with fresh seeds (and, on a small validation split, a holdout of the
    training data) and name the best by its mean; keeps their trained weights."""
    _run_with_view(lambda s: confirm_campaign(folder, s, top_k=top_k, seeds=seeds), CampaignSettings())


@app.command()
def replay(
    folder: Annotated[Path, typer.Argument(help="Campaign to replay from its cassette.")],
    out: Annotated[Path | None, typer.Option("-o", "--out", help="Folder for the replay (default DIR-replay).")] = None,
) -> None:
    """Re-run a campaign with the recorded model answers (no model is called) and compare."""
    with make_view() as view:
        summary = replay_campaign(folder, out, CampaignSettings(progress=view))
    _print_outcome(summary)
    check = summary.replay
    if check is not None:
        typer.echo(f"Replay: {check.matched}/{check.compared} candidates identical to {check.original}")
        if not check.identical:
            raise CampaignError(f"replay diverged: {check.first_mismatch}")


@app.command()
def reindex(
    folder: Annotated[Path, typer.Argument()],
    memory: Annotated[Path | None, typer.Option(help="Memory folder (default DIR/index).")] = None,
    chroma_url: Annotated[str | None, typer.Option(help="Chroma server URL.")] = None,
    memory_wait: Annotated[float | None, typer.Option(
        help="Seconds to wait for a memory folder a campaign holds (default: no limit).")] = None,
) -> None:
    """Rebuild the memory index from the campaign folder (waits while a campaign holds the folder)."""
    check_flags({"memory_wait": memory_wait})
    typer.echo(reindex_campaign(folder, memory, chroma_url, on_wait=_notice, wait_s=memory_wait))


@app.command("serve-mock")
def serve_mock(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    fault_rate: Annotated[float, typer.Option(help="Share of requests that fail (0..1).")] = 0.0,
    api_key: Annotated[str | None, typer.Option(help="Accept only this key (others get HTTP 401).")] = None,
    invalid_rate: Annotated[float, typer.Option(
        help="Share of free-text answers that fail their schema (0..1).")] = 0.0,
) -> None:
    """Serve the mock model over an OpenAI-compatible HTTP API (for --model openai/mock --api-base)."""
    typer.echo(f"mock model on http://{host}:{port}/v1 (use --model openai/mock --api-base http://{host}:{port}/v1)")
    serve_mock_model(host, port, fault_rate, api_key=api_key, invalid_rate=invalid_rate)


# ---- the entry point ----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """Run the command; map errors to one line and an exit code (0, 1 failed run, 2 bad usage)."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    try:
        code = app(args=args, prog_name="archlab", standalone_mode=False)
    except (click.UsageError, _typer_click.UsageError) as exc:
        _err(one_line(exc.format_message()))
        code = 2
    except UsageError as exc:
        _trace(debug)
        _err(str(exc))
        code = 2
    except CampaignError as exc:
        _trace(debug)
        _err(str(exc))
        code = 1
    except (KeyboardInterrupt, click.exceptions.Abort, typer.Abort):
        _err("interrupted; continue with `archlab resume DIR`")
        code = 130
    except (click.exceptions.Exit, typer.Exit) as exc:
        code = exc.exit_code
    except BrokenPipeError:  # `archlab show ... | head`: the reader left, nothing to report
        sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - silence the interpreter's own flush
        code = 0
    except SystemExit as exc:  # Typer exits by itself on some I/O errors
        code = exc.code if isinstance(exc.code, int) else 1
    except Exception as exc:  # a bug: still one line unless --debug
        _trace(debug)
        _err(f"{type(exc).__name__}: {one_line(exc)} (run with --debug for the traceback)")
        code = 1
    return int(code or 0)


def _trace(debug: bool) -> None:
    if debug:
        traceback.print_exc()


def entry() -> None:
    sys.exit(main())


if __name__ == "__main__":
    entry()
