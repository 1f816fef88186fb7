"""An experiment's standalone PyTorch source (`model.py`): written with the experiment, or
rendered on demand.

A full campaign writes `experiments/<id>/model.py` as it goes. A lightweight one (lookup-table
benchmarks: hundreds of proposals a second) does not: rendering a tree costs more than the
rest of its bookkeeping, and the source is a pure function of the tree and the task's
input shape, so `archlab show` and `archlab export` render it from there when they need it.
Nor does it write an experiment folder at all (creating a file cost more than the rest of a
lookup step): its record is a line of the records log (knowledge/record_log.py), and its tree
is that record's `arch`, which `experiment_arch` reads where `arch.json` is absent.
"""

from __future__ import annotations

from archlab import tools
from archlab.campaign.workspace import Workspace
from archlab.errors import one_line
from archlab.tools import Arch


def render_source(arch: Arch, input_shape: tuple[int, ...], num_classes: int) -> str:
    """`tools.render`, or a one-line comment saying why a tree could not be rendered."""
    try:
        return tools.render(arch, input_shape, num_classes)
    except Exception as error:  # a tree that cannot render is still a finished experiment
        return f"# could not render this tree: {one_line(error)}\n"


def model_source(ws: Workspace, exp: str) -> str:
    """The experiment's `model.py`: the file when the campaign wrote one, else rendered from its
    tree (`experiment_arch`) for the campaign's task (the same text the campaign would have written)."""
    return model_sources(ws, [exp])[0]


def model_sources(ws: Workspace, exps: list[str]) -> list[str]:
    """`model_source` of several experiments, the task loaded at most once (a lookup table's is a
    whole CSV): `archlab show` renders an experiment and its parent."""
    task = None
    sources = []
    for exp in exps:
        written = ws.experiment_dir(exp) / "model.py"
        if written.is_file():
            sources.append(written.read_text(encoding="utf-8"))
            continue
        if task is None:
            from archlab.sandbox import load_task

            stored = ws.load_state().settings.get("cache_dir")  # where the campaign's data lives
            task = load_task(ws.load_spec().task, stored)
        sources.append(render_source(experiment_arch(ws, exp), task.input_shape, task.num_classes))
    return sources


def experiment_arch(ws: Workspace, exp: str) -> Arch:
    """The experiment's tree: its `arch.json`, or (a lightweight campaign writes none) the `arch`
    of its record."""
    path = ws.experiment_dir(exp) / "arch.json"
    if path.is_file():
        return Arch.model_validate_json(path.read_text(encoding="utf-8"))
    return Arch.model_validate(ws.read_record_json(exp)["arch"])
