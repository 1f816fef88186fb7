"""What a person watches while a campaign runs.

On a terminal: a Rich live view (progress bar against the budget, counters, the
best validation accuracy, a short leaderboard). Elsewhere (CI logs, pipes):
one plain line per finished experiment, so logs stay greppable.
"""

from __future__ import annotations

import sys
from typing import TextIO

from rich.console import Console, Group
from rich.live import Live
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from archlab.campaign.settings import ProgressEvent


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.2f}%"


class PlainView:
    """One log line per event; for output that is not a terminal."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout

    def __enter__(self) -> PlainView:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stream.flush()

    def __call__(self, event: ProgressEvent) -> None:
        best = f" best {event.best_id} {_pct(event.best_val)}" if event.best_id else ""
        budget = f" [{event.budget_label}]" if event.budget_label else ""
        print(f"{event.message} | done {event.done} in-flight {event.in_flight} failed {event.failed}"
              f" cached {event.cached} rejected {event.rejected}{best}{budget}",
              file=self.stream, flush=True)


class LiveView:
    """A Rich live panel refreshed on every event."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console()
        self.progress = Progress(TextColumn("[bold]budget"), BarColumn(), TextColumn("{task.description}"),
                                 TimeElapsedColumn(), console=self.console)
        self.task = self.progress.add_task("", total=1.0)
        self.live = Live(self._render(None), console=self.console, refresh_per_second=4)

    def __enter__(self) -> LiveView:
        self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self.live.__exit__(None, None, None)

    def __call__(self, event: ProgressEvent) -> None:
        self.progress.update(self.task, completed=event.budget_fraction, description=event.budget_label)
        self.live.update(self._render(event))

    def _render(self, event: ProgressEvent | None) -> Group:
        if event is None:
            return Group(self.progress, "starting: loading the task, the memory and the workers ...")
        counts = (f"done [bold]{event.done}[/]  in flight {event.in_flight}  failed {event.failed}  "
                  f"cached {event.cached}  rejected {event.rejected}  "
                  f"best val [bold green]{_pct(event.best_val)}[/] ({event.best_id or '-'})")
        board = Table(title="leaderboard (validation)", expand=False)
        # Rows at a lower fidelity rank below full ones whatever their score: say which is which.
        mixed = len({row.fidelity for row in event.leaderboard}) > 1
        for column in ("id", "val acc", *(("fidelity",) if mixed else ()), "params", "edit"):
            board.add_column(column)
        for row in event.leaderboard:
            board.add_row(row.id, _pct(row.val_accuracy), *((f"{row.fidelity:g}",) if mixed else ()),
                          f"{row.params:,}" if row.params else "-", (row.edit or "(seed, as given)")[:60])
        return Group(self.progress, counts, board, f"[dim]{event.message}[/]")


def make_view(stream: TextIO | None = None) -> PlainView | LiveView:
    """The live view on a terminal, plain lines otherwise."""
    stream = stream or sys.stdout
    if stream.isatty():
        return LiveView(Console(file=stream))
    return PlainView(stream)
