"""build_report on a synthetic campaign: every section, the right numbers, no test-set ranking."""

from __future__ import annotations

import base64
import io
import json
import re
import shutil
from collections import Counter
from pathlib import Path

import pytest
from PIL import Image

from archlab.report import build_report, load_campaign
from demo_campaign import make_demo_campaign
from archlab.report.summary import lineage, pareto_front
from report_helpers import read_records

SECTIONS = ["The goal and the spec", "Leaderboard", "Progress", "Pareto front", "The best model",
            "Lineage: from the seed to the best", "The tree", "Insights", "Failures",
            "Model calls and cost", "Experiments"]


def _section(markdown: str, title: str) -> str:
    return markdown.split(f"## {title}\n", 1)[1].split("\n## ", 1)[0]


def _table_rows(text: str) -> list[list[str]]:
    rows = [line.strip("|").split(" | ") for line in text.splitlines() if re.match(r"^\| \d+ \|", line)]
    return [[cell.strip() for cell in row] for row in rows]


def _pct(value: float) -> str:
    return f"{value * 100:.2f}%"


def test_every_section_is_in_both_formats(built_demo: tuple[Path, Path, Path]) -> None:
    folder, markdown, html = built_demo
    assert markdown == folder / "report.md" and html == folder / "report.html"
    md_text, html_text = markdown.read_text(), html.read_text()
    for title in SECTIONS:
        assert title in md_text, title
        assert title in html_text, title
    assert "a 1-D CNN for MNIST-1D, at most 20k parameters" in md_text


def test_leaderboard_ranks_by_validation_never_by_test(built_demo: tuple[Path, Path, Path]) -> None:
    folder, markdown, _ = built_demo
    records = [r for r in read_records(folder) if r["result"]["status"] == "ok"]
    top = max(r["result"]["fidelity"] for r in records)  # like with like: full-fidelity results rank first
    by_val = sorted(records, key=lambda r: (r["result"]["fidelity"] < top, -r["result"]["val_accuracy"],
                                            r["result"]["params"], r["id"]))
    distinct, seen = [], set()
    for record in by_val:
        if record["arch_hash"] not in seen:
            seen.add(record["arch_hash"])
            distinct.append(record)
    by_test = sorted(distinct, key=lambda r: -r["result"]["test_accuracy"])
    assert [r["id"] for r in by_test[:15]] != [r["id"] for r in distinct[:15]], "fixture must separate val and test"
    rows = _table_rows(_section(markdown.read_text(), "Leaderboard"))
    assert [row[1].strip("`") for row in rows] == [r["id"] for r in distinct[:15]]
    assert [row[2] for row in rows] == [_pct(r["result"]["val_accuracy"]) for r in distinct[:15]]
    assert [row[3] for row in rows] == [_pct(r["result"]["test_accuracy"]) for r in distinct[:15]]
    assert [row[4] for row in rows] == [f"{r['result']['params']:,}" for r in distinct[:15]]


def test_cached_hits_do_not_repeat_a_structure_on_the_leaderboard(built_demo: tuple[Path, Path, Path]) -> None:
    folder, markdown, _ = built_demo
    cached = [r["id"] for r in read_records(folder) if r["result"]["cached"]]
    assert cached, "fixture must contain cached hits"
    listed = {row[1].strip("`") for row in _table_rows(_section(markdown.read_text(), "Leaderboard"))}
    assert not listed & set(cached)


def test_headline_failures_and_usage_numbers_match_the_records(built_demo: tuple[Path, Path, Path]) -> None:
    folder, markdown, _ = built_demo
    text = markdown.read_text()
    records = read_records(folder)
    best = max((r for r in records if r["result"]["status"] == "ok"), key=lambda r: r["result"]["val_accuracy"])
    assert f"`{best['id']}` with {_pct(best['result']['val_accuracy'])} validation accuracy" in text
    failed = Counter(r["result"]["failure"] for r in records if r["result"]["status"] == "failed")
    assert len(failed) >= 5, "fixture must fail in several ways"
    failures = _section(text, "Failures")
    for kind, n in failed.items():
        assert f"| {kind} | {n} |" in failures
    usage = json.loads((folder / "llm" / "usage.json").read_text())
    prompt_total = sum(agent["prompt_tokens"] for agent in usage.values())
    assert f"| **total** | {sum(a['calls'] for a in usage.values()):,} |" in text
    assert f"{prompt_total:,}" in _section(text, "Model calls and cost")
    ok = sum(1 for r in records if r["result"]["status"] == "ok")
    assert (f"**{len(records)}** experiments: {ok} succeeded, {sum(failed.values())} failed "
            f"({failed['constraint']} rejected by a constraint before training)") in text


def test_lineage_walks_from_a_seed_to_the_best_edit_by_edit(built_demo: tuple[Path, Path, Path]) -> None:
    folder, markdown, _ = built_demo
    view = load_campaign(folder)
    best = max((e for e in view.experiments if e.ok), key=lambda e: e.result.val_accuracy)
    steps = lineage(view, best.id)
    assert len(steps) >= 3 and steps[0].exp.parent_ids == [] and steps[-1].exp.id == best.id
    for before, after in zip(steps, steps[1:]):
        assert after.exp.parent_ids[0] == before.exp.id
    rows = _table_rows(_section(markdown.read_text(), "The best model"))
    assert [row[1].strip("`") for row in rows] == [s.exp.id for s in steps]
    assert rows[0][2] == "seed"


def test_pareto_front_is_not_dominated(built_demo: tuple[Path, Path, Path]) -> None:
    view = load_campaign(built_demo[0])
    front = pareto_front(view.experiments)
    assert len(front) >= 2
    for member in front:
        for other in view.experiments:
            if other.ok and other.result.params is not None:
                dominates = (other.result.params <= member.result.params
                             and other.result.val_accuracy > member.result.val_accuracy)
                assert not dominates, f"{other.id} dominates {member.id}"


def test_experiment_sections_have_code_diff_curve_and_analysis(built_demo: tuple[Path, Path, Path]) -> None:
    folder, markdown, _ = built_demo
    text = _section(markdown.read_text(), "Experiments")
    child = next(r for r in read_records(folder) if r["parent_ids"] and r["result"]["status"] == "ok")
    block = text.split(f"### {child['id']}", 1)[1].split("\n### ", 1)[0]
    assert f"diff against {child['parent_ids'][0]} (model.py)" in block
    assert re.search(r"^[+-] ", block, flags=re.M), "the diff shows changed lines"
    assert f"report_files/curves/{child['id']}.png" in block and (folder / "report_files/curves" / f"{child['id']}.png").is_file()
    assert child["analysis"] in block and "def build_model()" in block


def test_html_is_self_contained_with_real_inline_pngs(built_demo: tuple[Path, Path, Path]) -> None:
    html = built_demo[2].read_text()
    assert "<script" not in html
    assert not re.search(r"""(src|href)=["'](https?:|//)""", html)
    sources = re.findall(r'<img [^>]*src="([^"]+)"', html)
    assert len(sources) >= 10
    for source in sources:
        assert source.startswith("data:image/png;base64,")
    first = Image.open(io.BytesIO(base64.b64decode(sources[0].split(",", 1)[1])))
    assert first.size[0] >= 600, "plots are large enough to read"


def test_half_written_campaign_still_gives_a_report(tmp_path: Path) -> None:
    folder = make_demo_campaign(tmp_path / "live", n_experiments=6, finished=False)
    (folder / "spec.json").unlink()
    (folder / "llm" / "usage.json").unlink()
    markdown, html = build_report(folder)
    text = markdown.read_text()
    assert "No spec.json yet." in text and "1 in flight" in text and "still running" in text
    assert "No model usage recorded yet." in text
    assert "Not distilled yet" in text  # per-experiment insights stand in for insights.json
    assert html.is_file()


def test_campaign_with_nothing_finished_yet(tmp_path: Path) -> None:
    folder = make_demo_campaign(tmp_path / "new", n_experiments=1)
    shutil.rmtree(folder / "experiments" / "e0001")
    text = build_report(folder)[0].read_text()
    assert text.count("No successful evaluation yet.") == 3 and "Nothing has finished yet." in text


def test_learning_curves_are_redrawn_only_when_their_record_changes(tmp_path: Path) -> None:
    folder = make_demo_campaign(tmp_path / "c", n_experiments=4)
    build_report(folder)
    curve = folder / "report_files" / "curves" / "e0002.png"
    first = curve.stat().st_mtime_ns
    build_report(folder)
    assert curve.stat().st_mtime_ns == first
    record = folder / "experiments" / "e0002" / "record.json"
    data = json.loads(record.read_text())
    data["result"]["curve"] = data["result"]["curve"][:3]
    record.write_text(json.dumps(data))
    build_report(folder)
    assert curve.stat().st_mtime_ns > first


@pytest.mark.parametrize("bad", ["missing", "file"])
def test_build_report_refuses_a_non_campaign_in_one_line(tmp_path: Path, bad: str) -> None:
    path = tmp_path / "nope"
    if bad == "file":
        path.write_text("x")
    with pytest.raises(ValueError, match="nope") as info:
        build_report(path)
    assert "\n" not in str(info.value)
