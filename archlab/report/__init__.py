"""Campaign reports: report.md and a self-contained report.html, and comparisons.

`build_report(campaign_dir)` writes both files into the campaign folder;
`compare(campaign_dirs, out_dir)` writes compare.md and compare.html for several
campaigns (e.g. the three strategies). Both raise `ReportError` (one line) when a
folder is missing or is not a campaign.
"""

from archlab.report.build import build_report
from archlab.report.compare import compare
from archlab.report.decisions import decision_lines
from archlab.report.loader import ReportError, ReportWarning, load_campaign

__all__ = ["build_report", "compare", "decision_lines", "ReportError", "ReportWarning", "load_campaign"]
