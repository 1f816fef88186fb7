"""Experiment records: what the campaign writes and the memory reads back."""

import pytest

from archlab.knowledge import ExperimentRecord, KnowledgeError, read_record
from memory_builders import conv_net, failed, ok, record


def test_record_round_trips_through_json(tmp_path):
    rec = record(3, conv_net(), ok(0.9), parent_ids=["e0001"], edit={"kind": "swap_act", "path": "root.0"},
                 analysis="better", insights=["a", "b"])
    path = tmp_path / "record.json"
    path.write_text(rec.model_dump_json())
    again = read_record(path)
    assert again == rec
    assert again.key == "alpha/e0003"


def test_failed_result_is_kept_with_its_kind(tmp_path):
    rec = record(1, conv_net(), failed("timeout"))
    path = tmp_path / "record.json"
    path.write_text(rec.model_dump_json())
    assert read_record(path).result.failure == "timeout"


def test_corrupt_record_raises_one_line_naming_the_file(tmp_path):
    path = tmp_path / "record.json"
    path.write_text('{"id": "e0001", "campaign": "alpha"')  # truncated
    with pytest.raises(KnowledgeError) as caught:
        read_record(path)
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)


def test_record_missing_a_field_names_the_field(tmp_path):
    rec = record(1, conv_net(), ok(0.5)).model_dump(mode="json")
    del rec["result"]
    path = tmp_path / "record.json"
    path.write_text(__import__("json").dumps(rec))
    with pytest.raises(KnowledgeError, match="result"):
        read_record(path)


def test_ids_that_would_break_the_memory_key_are_refused():
    with pytest.raises(ValueError, match="'/'"):
        ExperimentRecord(id="a/b", campaign="alpha", arch=conv_net(), arch_hash="h", result=ok(0.5))
