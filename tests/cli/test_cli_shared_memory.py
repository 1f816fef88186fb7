"""One memory, many campaigns, as a person runs them: separate `archlab run` processes on one embedded
`--memory` folder (the second waits for the first, saying so in one line; `--memory-wait 0` refuses in
one line) and on one Chroma server (both write at once). Nothing crashes and nothing is lost."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from cli_helpers import GOAL, archlab, archlab_done, chroma_server, error_lines, tiny_config, wait_for

pytestmark = pytest.mark.slow
WAITING = "waiting for it to close"


def start(tmp_path: Path, name: str, *options: str) -> tuple[subprocess.Popen[str], Path]:
    """`archlab run` in the background, its stderr in NAME.err (read while it runs)."""
    err = (tmp_path / f"{name}.err").open("w")
    proc = archlab("run", GOAL, "--out", str(tmp_path / name), "--config", str(tiny_config(tmp_path)), *options,
                   stdout=subprocess.DEVNULL, stderr=err)
    err.close()  # the child holds its own copy
    return proc, tmp_path / f"{name}.err"


def finish(proc: subprocess.Popen[str], err: Path, timeout: float = 600) -> str:
    code = proc.wait(timeout=timeout)
    text = err.read_text()
    assert code == 0, text[-2000:]
    return text


def finished_status(folder: Path) -> dict:
    done = archlab_done("status", str(folder), "--json")
    assert done.returncode == 0, done.stderr
    status = json.loads(done.stdout)
    assert status["status"] == "done" and status["evaluated"] == 2, status
    return status


def indexed(**where: object) -> dict[str, int]:
    """How many experiments the memory holds per campaign (opened after every campaign closed it)."""
    from archlab.knowledge import Memory

    with Memory(embedder="hashing", **where) as memory:
        return {name: memory.count(name) for name in ("first", "second")}


def test_two_campaigns_on_one_memory_folder_take_turns_and_both_are_remembered(tmp_path):
    shared = tmp_path / "memory"
    first, first_err = start(tmp_path, "first", "--memory", str(shared))
    second, second_err = start(tmp_path, "second", "--memory", str(shared))
    try:
        # whichever reached the folder second waits for the other, saying so once, before making its folder
        waiter = wait_for(lambda: next((name for name, err in (("first", first_err), ("second", second_err))
                                        if WAITING in err.read_text()), None), 300, "a waiting line")
        holder = "second" if waiter == "first" else "first"
        assert not (tmp_path / waiter).exists()
        # a third that will not wait is refused in one line while the folder is held, and so is
        # `archlab reindex` of the holder into the folder it holds (both started now, while it is held)
        reindex = archlab("reindex", str(tmp_path / holder), "--memory", str(shared), "--memory-wait", "0")
        refused = archlab_done("run", GOAL, "--out", str(tmp_path / "third"), "--memory", str(shared),
                               "--memory-wait", "0", "--config", str(tiny_config(tmp_path)), timeout=300)
        lines = error_lines(refused.stderr)
        assert refused.returncode == 1 and len(lines) == 1, refused.stderr
        assert f"memory folder {shared} is in use by campaign" in lines[0] and "gave up" in lines[0], lines[0]
        assert not (tmp_path / "third").exists()
        _, reindex_err = reindex.communicate(timeout=300)
        lines = error_lines(reindex_err)
        assert reindex.returncode == 1 and len(lines) == 1 and "gave up" in lines[0], reindex_err
        texts = {"first": finish(first, first_err), "second": finish(second, second_err)}
    finally:
        for proc in (first, second):
            if proc.poll() is None:
                proc.kill()
    waits = [line for line in error_lines(texts[waiter]) if WAITING in line]
    assert len(waits) == 1 and f"in use by campaign {holder}" in waits[0], waits
    assert not any(WAITING in line for line in error_lines(texts[holder]))
    status = {name: finished_status(tmp_path / name) for name in ("first", "second")}
    # same goal and seed: the waiter met the holder's architectures in the memory and reused them
    assert status[waiter]["cached"] >= 1 and status[holder]["cached"] == 0, status
    assert indexed(path=shared) == {name: s["experiments"] for name, s in status.items()}  # none lost


def test_two_campaigns_on_one_chroma_server_write_at_once(tmp_path):
    with chroma_server(tmp_path / "chroma-data") as url:
        first, first_err = start(tmp_path, "first", "--chroma-url", url)
        second, second_err = start(tmp_path, "second", "--chroma-url", url)
        try:
            # each makes its folder only once its memory is open: both folders while both run = both at once
            both = wait_for(lambda: (tmp_path / "first" / "state.json").is_file()
                            and (tmp_path / "second" / "state.json").is_file(), 300, "both campaigns open")
            assert both and first.poll() is None and second.poll() is None, "one finished before the other began"
            texts = [finish(first, first_err), finish(second, second_err)]
        finally:
            for proc in (first, second):
                if proc.poll() is None:
                    proc.kill()
        assert not any(WAITING in text for text in texts)
        status = {name: finished_status(tmp_path / name) for name in ("first", "second")}
        assert indexed(url=url) == {name: s["experiments"] for name, s in status.items()}
