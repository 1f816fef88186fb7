"""The terminal's live view: what a person reads while a campaign runs."""

from __future__ import annotations

import io

from rich.console import Console

from archlab.campaign import LeaderboardRow, ProgressEvent
from archlab.campaign.live_view import LiveView, PlainView


def event(rows: list[LeaderboardRow]) -> ProgressEvent:
    return ProgressEvent(message="e0003 ok val 95.0% at fidelity 0.5 (900 params)", done=3, evaluated=3,
                         in_flight=1, failed=0, cached=0, rejected=0, best_id=rows[0].id,
                         best_val=rows[0].val_accuracy, budget_fraction=0.3, budget_label="3/10 evals",
                         elapsed_s=1.0, leaderboard=rows)


def shown(rows: list[LeaderboardRow]) -> str:
    console = Console(file=io.StringIO(), width=120, record=True, color_system=None)
    console.print(LiveView(console)._render(event(rows)))
    return console.export_text()


def test_the_leaderboard_shows_fidelity_when_its_rows_differ_in_it():
    rows = [LeaderboardRow(id="e0002", val_accuracy=0.93, params=1200, edit="deepen"),
            LeaderboardRow(id="e0003", val_accuracy=0.95, params=900, edit="widen", fidelity=0.5)]
    text = shown(rows)
    lines = text.splitlines()
    assert "fidelity" in next(line for line in lines if "val acc" in line)
    line = next(line for line in lines if "e0003" in line and "95.00%" in line)
    assert " 0.5 " in line  # the screen's score is marked as one, beside the full-fidelity row above it
    assert "best val 93.00% (e0002)" in text


def test_the_leaderboard_has_no_fidelity_column_when_every_row_is_full():
    rows = [LeaderboardRow(id="e0002", val_accuracy=0.93, params=1200, edit="deepen")]
    assert "fidelity" not in shown(rows).split("leaderboard", 1)[1].split("e0002")[0]


def test_the_plain_view_is_one_line_per_event():
    stream = io.StringIO()
    PlainView(stream)(event([LeaderboardRow(id="e0002", val_accuracy=0.93, params=1200)]))
    assert stream.getvalue().count("\n") == 1
    assert "e0003 ok val 95.0% at fidelity 0.5" in stream.getvalue() and "best e0002 93.00% [3/10 evals]" in stream.getvalue()
