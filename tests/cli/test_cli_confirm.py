"""`archlab confirm` and `archlab export` (issue 17): bad usage is one line and exit 2."""

from __future__ import annotations

from test_cli_usage import assert_one_line_usage_error, run_cli


def test_confirm_on_a_missing_or_foreign_folder_exits_2(tmp_path, capsys):
    code, _, err = run_cli(["confirm", str(tmp_path / "nope")], capsys)
    assert_one_line_usage_error(code, err, "does not exist")
    code, _, err = run_cli(["confirm", str(tmp_path)], capsys)
    assert_one_line_usage_error(code, err, "not an archlab campaign")


def test_export_of_a_malformed_experiment_id_exits_2(tmp_path, capsys):
    code, _, err = run_cli(["export", str(tmp_path), "best-one"], capsys)
    assert_one_line_usage_error(code, err, "ids look like e0001")
