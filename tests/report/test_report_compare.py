"""compare() over three campaigns, one per strategy."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from archlab.report import ReportError, compare
from demo_campaign import make_demo_campaign
from report_helpers import read_records

STRATEGIES = ["agentic", "evolution", "random"]


@pytest.fixture(scope="module")
def three(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Path], Path, Path, Path]:
    root = tmp_path_factory.mktemp("cmp")
    folders = [make_demo_campaign(root / s, strategy=s, seed=1, n_experiments=12) for s in STRATEGIES]
    (folders[0] / "report.html").write_text("<html></html>")  # only this one has its own report
    markdown, html = compare(folders, root / "out")
    return folders, markdown, html, root


def test_compare_writes_both_files_with_one_row_per_campaign(three) -> None:
    folders, markdown, html, root = three
    assert markdown == root / "out" / "compare.md" and html == root / "out" / "compare.html"
    text = markdown.read_text()
    campaigns = text.split("## Campaigns", 1)[1].split("## By strategy", 1)[0]
    for folder, strategy in zip(folders, STRATEGIES):
        records = [r for r in read_records(folder) if r["result"]["status"] == "ok"]
        best = max(records, key=lambda r: (r["result"]["val_accuracy"], -r["result"]["params"]))
        row = next(line for line in campaigns.splitlines() if line.startswith(f"| {folder.name} |"))
        assert f"| {strategy} |" in row and f"`{best['id']}`" in row
        assert f"{best['result']['val_accuracy'] * 100:.2f}%" in row
    assert "[report](../agentic/report.html)" in campaigns
    assert campaigns.count("[report]") == 1


def test_pooled_leaderboard_is_sorted_by_validation(three) -> None:
    _, markdown, _, _ = three
    board = markdown.read_text().split("## Leaderboard over all campaigns", 1)[1]
    rows = [line.split(" | ") for line in board.splitlines() if re.match(r"^\| \d+ \|", line)]
    vals = [float(row[3].rstrip("%")) for row in rows]
    assert len(rows) == 15 and vals == sorted(vals, reverse=True)
    assert {row[1] for row in rows} <= set(STRATEGIES) and len({row[1] for row in rows}) >= 2


def test_compare_html_inlines_one_line_per_strategy_plots(three) -> None:
    _, _, html, root = three
    page = html.read_text()
    sources = re.findall(r'<img [^>]*src="([^"]+)"', page)
    assert len(sources) == 3 and all(s.startswith("data:image/png;base64,") for s in sources)
    assert (root / "out" / "compare_files" / "best_vs_evaluations.png").is_file()
    for strategy in STRATEGIES:
        assert strategy in page


def test_same_strategy_campaigns_are_told_apart_by_folder(tmp_path: Path) -> None:
    folders = [make_demo_campaign(tmp_path / f"evo{seed}", strategy="evolution", seed=seed, n_experiments=5)
               for seed in (1, 2)]
    text = compare(folders, tmp_path / "out")[0].read_text()
    assert "| evolution | 2 |" in text  # the by-strategy row pools both seeds
    assert "evolution (evo1)" in text and "evolution (evo2)" in text


def test_compare_refuses_bad_input_in_one_line(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match="at least one"):
        compare([], tmp_path / "out")
    good = make_demo_campaign(tmp_path / "good", n_experiments=3)
    with pytest.raises(ReportError, match="not_there") as info:
        compare([good, tmp_path / "not_there"], tmp_path / "out")
    assert "\n" not in str(info.value)
