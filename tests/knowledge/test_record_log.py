"""The records log of a lightweight campaign: appended lines read back in order, a line cut short
by a kill -9 skipped, and a resume's cut back to the recorded prefix."""

from __future__ import annotations

import json

import pytest

from archlab.knowledge.record_log import RecordLog, log_path, read_log


def _line(exp: str, **extra: object) -> str:
    return json.dumps({"id": exp, **extra}, separators=(",", ":"))


def test_appended_records_read_back_in_order_and_a_cut_line_is_skipped(tmp_path):
    log = RecordLog(log_path(tmp_path))
    for i in range(1, 4):
        log.append(_line(f"e{i:04d}", score=i))
    with log.path.open("a", encoding="utf-8") as handle:  # a kill -9 in the middle of a write
        handle.write('{"id": "e0004", "sco')
    assert [(r["id"], r["score"]) for r in read_log(log.path)] == [("e0001", 1), ("e0002", 2), ("e0003", 3)]
    log.close()


def test_a_missing_log_has_no_records_and_lines_without_an_id_are_not_records(tmp_path):
    assert read_log(log_path(tmp_path)) == []
    path = log_path(tmp_path)
    path.parent.mkdir()
    path.write_text('[1, 2]\n{"no_id": true}\n' + _line("e0001") + "\n", encoding="utf-8")
    assert [r["id"] for r in read_log(path)] == ["e0001"]


def test_keep_cuts_the_log_back_to_the_prefix_and_drops_a_partial_line(tmp_path):
    log = RecordLog(log_path(tmp_path))
    for i in range(1, 5):
        log.append(_line(f"e{i:04d}"))
    with log.path.open("a", encoding="utf-8") as handle:
        handle.write('{"id": "e00')
    assert log.keep({"e0001", "e0002"}) == ["e0003", "e0004"]
    assert log.path.read_text(encoding="utf-8").endswith("\n")
    log.append(_line("e0003", again=True))  # the resume goes on appending after the cut
    assert [(r["id"], r.get("again")) for r in read_log(log.path)] == [("e0001", None), ("e0002", None),
                                                                       ("e0003", True)]
    log.close()


def test_a_record_must_be_one_line(tmp_path):
    with pytest.raises(ValueError, match="one line"):
        RecordLog(log_path(tmp_path)).append('{"id": "e0001",\n"x": 1}')
