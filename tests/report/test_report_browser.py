"""report.html opens in headless Chromium from disk: no console errors, leaderboard and plots shown.

The screenshot is kept as a test artifact under artifacts/report/ (gitignored) so a
person can check that the page reads well.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image, ImageStat

from archlab.report import build_report, load_campaign
from demo_campaign import make_demo_campaign
from archlab.report.summary import leaderboard

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "report"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.fail("chromium not found: install Debian's chromium (apt-get install -y chromium); .ci/run does")
    return found


def _run(page: Path, profile: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    command = [_chromium(), *FLAGS, f"--user-data-dir={profile}", *extra, page.as_uri()]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


def _console_messages(stderr: str) -> list[str]:
    """Chromium logs every console message (errors, uncaught exceptions) as ...:CONSOLE...."""
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


def _dump(page: Path, profile: Path) -> tuple[str, list[str]]:
    done = _run(page, profile, "--enable-logging=stderr", "--v=0", "--dump-dom")
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout, _console_messages(done.stderr)


@pytest.mark.slow
def test_report_renders_in_chromium_without_errors(tmp_path: Path) -> None:
    # The console scan must be able to fail: a broken page is caught first.
    broken = tmp_path / "broken.html"
    broken.write_text('<!DOCTYPE html><html><body><script>undefinedFunction();</script></body></html>')
    assert any("undefinedFunction" in m for m in _dump(broken, tmp_path / "p0")[1])

    folder = make_demo_campaign(tmp_path / "agentic", strategy="agentic", n_experiments=24)
    _, html = build_report(folder)
    dom, console = _dump(html, tmp_path / "p1")
    assert console == [], console
    board = dom.split('id="leaderboard-table"', 1)[1].split("</table>", 1)[0]
    view = load_campaign(folder)
    ranked = leaderboard(view.experiments, limit=15)
    assert len(re.findall(r"<tr", board)) == 1 + len(ranked) and ranked[0].id in board
    images = re.findall(r'<img [^>]*src="(data:image/png;base64,[^"]+)"', dom)
    curves = sum(1 for e in view.experiments if e.result.curve)
    assert len(images) == curves + 4  # every learning curve, progress x2, Pareto, failures

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "report.png"
    shot.unlink(missing_ok=True)
    done = _run(html, tmp_path / "p2", f"--screenshot={shot}", "--window-size=1280,2400", "--hide-scrollbars")
    assert done.returncode == 0 and shot.is_file(), done.stderr[-2000:]
    with Image.open(shot) as image:
        assert image.size == (1280, 2400)
        assert max(ImageStat.Stat(image.convert("L")).stddev) > 20, "the screenshot is not blank"
