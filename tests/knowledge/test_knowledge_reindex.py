"""The campaign folder is the source of truth: indexes are rebuilt from it."""

import shutil

import pytest

from archlab.knowledge import CorruptRecordWarning, IndexRebuiltWarning, Memory, open_memory, reindex
from memory_builders import conv_net, ok, record, write_campaign


def test_reindex_loads_records_and_insights(tmp_path, population):
    folder = write_campaign(tmp_path / "camp", population, insights=["kernels wider than 7 did not pay"])
    with Memory(path=tmp_path / "elsewhere", embedder="hashing") as memory:
        report = reindex(folder, memory)
        assert (report.records, report.added, report.insights, report.skipped) == (8, 8, 2, [])
        assert memory.best(1)[0]["id"] == "e0004"
        from_record = memory.insights_for("residual depth", 1)[0]
        assert (from_record["text"], from_record["exp_id"]) == ("residuals help depth", "e0004")
        assert memory.insights_for("wider kernels", 1)[0]["source"] == "insights.json"


def test_corrupt_record_is_skipped_with_a_warning_naming_it(tmp_path, population):
    folder = write_campaign(tmp_path / "camp", population)
    bad = folder / "experiments" / "e0003" / "record.json"
    bad.write_text("{ this is not json")
    with Memory(path=tmp_path / "index", embedder="hashing") as memory:
        with pytest.warns(CorruptRecordWarning, match=str(bad)):
            report = reindex(folder, memory)
        assert report.added == 7 and report.skipped[0].startswith(str(bad))
        assert memory.count() == 7 and memory.lookup(population[3].arch_hash, 1.0) is not None


def test_deleted_index_is_rebuilt_on_open(tmp_path, population):
    folder = write_campaign(tmp_path / "camp", population)
    memory = open_memory(folder, embedder="hashing")
    assert memory.count() == 8
    memory.close()
    shutil.rmtree(folder / "index")
    with open_memory(folder, embedder="hashing") as memory:
        assert memory.count() == 8
        assert memory.lookup(population[1].arch_hash, 1.0).val_accuracy == 0.80


def test_deleted_index_under_an_open_memory_is_rebuilt(tmp_path, population):
    folder = write_campaign(tmp_path / "camp", population)
    first = open_memory(folder, embedder="hashing")
    shutil.rmtree(folder / "index")  # deleted while the process still holds it
    with open_memory(folder, embedder="hashing") as memory:
        memory.add(record(9, conv_net(8, 3), ok(0.5)))
        assert memory.count() == 9
    del first


def test_corrupt_index_is_moved_aside_and_rebuilt(tmp_path, population):
    folder = write_campaign(tmp_path / "camp", population)
    open_memory(folder, embedder="hashing").close()
    (folder / "index" / "chroma.sqlite3").write_bytes(b"garbage" * 1000)
    with pytest.warns(IndexRebuiltWarning, match="corrupt"):
        memory = open_memory(folder, embedder="hashing")
    with memory:
        assert memory.count() == 8 and "corrupt" in memory.rebuilt_reason
    assert (folder / "index.corrupt-1" / "chroma.sqlite3").exists()


def test_fresh_reindex_drops_records_deleted_from_the_folder(tmp_path, population):
    folder = write_campaign(tmp_path / "camp", population)
    with open_memory(folder, embedder="hashing") as memory:
        shutil.rmtree(folder / "experiments" / "e0008")
        assert memory.reindex(folder, fresh=True).added == 7
        assert memory.count() == 7


def test_missing_folder_is_one_clear_line(tmp_path, memory):
    with pytest.raises(ValueError, match="does not exist"):
        reindex(tmp_path / "nope", memory)
