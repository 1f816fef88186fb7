"""One memory folder, many processes: one holds it at a time, the others wait or refuse in one line."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from archlab.knowledge import Memory, MemoryBusy, MemoryBusyWarning
from memory_builders import conv_net, ok, record

REPO = Path(__file__).resolve().parents[2]

# A campaign's use of the memory, in another process: open, add `n` records (querying as a
# campaign does), hold the folder until the file `release` exists, then close; `ready` is
# created once the folder is held.
WRITER = textwrap.dedent('''
    import sys, time
    from pathlib import Path
    sys.path.insert(0, sys.argv[1])
    from archlab.knowledge import Memory
    from memory_builders import conv_net, ok, record
    folder, name, n, release, ready = sys.argv[2], sys.argv[3], int(sys.argv[4]), Path(sys.argv[5]), sys.argv[6]
    start = time.monotonic()
    with Memory(path=folder, embedder="hashing", owner=f"campaign {name}",
                on_wait=lambda line: print("WAIT", line, flush=True)) as memory:
        print("OPEN", round(time.monotonic() - start, 1), flush=True)
        Path(ready).touch()
        for i in range(n):
            memory.add(record(i + 1, conv_net(8 + i, 3), ok(0.5 + i / 100), campaign=name))
            memory.similar(conv_net(8, 3), k=3)
        while not release.exists():
            time.sleep(0.05)
        print("DONE", memory.count(), flush=True)
''')


def writer(tmp_path: Path, folder: Path, name: str, n: int, release: Path) -> tuple[subprocess.Popen, Path]:
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    ready = tmp_path / f"{name}.ready"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, str(script), str(Path(__file__).parent), str(folder), name, str(n),
                             str(release), str(ready)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, cwd=REPO)
    return proc, ready


def wait_for(path: Path, proc: subprocess.Popen, limit: float = 120) -> None:
    deadline = time.monotonic() + limit
    while not path.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"the writer never held the folder: {proc.communicate()}")
        time.sleep(0.05)


@pytest.mark.slow  # two Python processes importing Chroma
def test_two_processes_on_one_folder_both_finish_and_nothing_is_lost(tmp_path):
    folder, release = tmp_path / "shared-memory", tmp_path / "release"
    first, first_ready = writer(tmp_path, folder, "alpha", 15, release)
    wait_for(first_ready, first)
    second, _ = writer(tmp_path, folder, "beta", 15, release)
    wait_line = second.stdout.readline()  # the second says why it waits, while the first still writes
    release.touch()
    out_first, err_first = first.communicate(timeout=300)
    out_second, err_second = second.communicate(timeout=300)
    assert first.returncode == 0 and second.returncode == 0, (err_first[-800:], err_second[-800:])
    assert wait_line.startswith("WAIT") and "is in use by campaign alpha (pid" in wait_line
    assert "WAIT" not in out_second and "DONE 15" in out_first and "DONE 30" in out_second
    with Memory(path=folder, embedder="hashing") as memory:
        assert (memory.count("alpha"), memory.count("beta")) == (15, 15)
        assert memory.similar(conv_net(9, 3), k=1, campaign="alpha")[0]["id"] == "e0002"


@pytest.mark.slow
def test_a_short_timeout_refuses_in_one_line_and_a_killed_holder_frees_the_folder(tmp_path):
    folder = tmp_path / "memory"
    holder, ready = writer(tmp_path, folder, "alpha", 1, tmp_path / "never")
    try:
        wait_for(ready, holder)
        start = time.monotonic()
        with pytest.raises(MemoryBusy) as caught:
            Memory(path=folder, embedder="hashing", lock_timeout_s=0.5, on_wait=lambda line: None)
        assert time.monotonic() - start < 5
        message = str(caught.value)
        assert "in use by campaign alpha (pid" in message and "gave up after" in message and "\n" not in message
        with pytest.warns(MemoryBusyWarning, match="waiting for it to close"):  # the default way to say it
            with pytest.raises(MemoryBusy):
                Memory(path=folder, embedder="hashing", lock_timeout_s=0)
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
        start = time.monotonic()
        with Memory(path=folder, embedder="hashing", lock_timeout_s=10) as memory:  # no stale lock
            assert memory.count("alpha") == 1
        assert time.monotonic() - start < 10
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()


def test_memories_of_one_process_share_the_folder(tmp_path):
    with Memory(path=tmp_path / "m", embedder="hashing", lock_timeout_s=0) as first:
        with Memory(path=tmp_path / "m", embedder="hashing", lock_timeout_s=0) as second:
            second.add(record(1, conv_net(), ok(0.7)))
            assert first.count() == 1
    assert not (tmp_path / "m" / ".archlab-memory.holder.json").exists()  # let go on the last close


# A holder that takes the lock and writes its note a moment later, as a campaign does between
# `acquire` and `_write_holder` (on a fast machine a waiter could look in between).
LATE_NOTE = textwrap.dedent('''
    import sys, time
    from pathlib import Path
    sys.path.insert(0, sys.argv[1])
    from archlab.knowledge.folder_lock import FolderLock
    lock = FolderLock(Path(sys.argv[2]), owner="campaign slow-to-say")
    lock._lock.acquire(timeout=0)
    Path(sys.argv[3]).touch()
    time.sleep(0.5)
    lock._write_holder()
    time.sleep(60)
''')


def test_a_waiter_names_a_holder_that_writes_its_note_just_after_taking_the_folder(tmp_path):
    from archlab.knowledge.folder_lock import FolderLock

    folder, ready, script = tmp_path / "memory", tmp_path / "held", tmp_path / "late.py"
    folder.mkdir()
    script.write_text(LATE_NOTE)
    holder = subprocess.Popen([sys.executable, str(script), str(REPO), str(folder), str(ready)],
                              env={**os.environ, "PYTHONPATH": str(REPO)}, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(ready, holder)
        lines: list[str] = []
        with pytest.raises(MemoryBusy) as caught:
            FolderLock(folder, timeout_s=0.2, on_wait=lines.append).acquire()
        assert len(lines) == 1 and "in use by campaign slow-to-say (pid" in lines[0], lines
        assert "in use by campaign slow-to-say" in str(caught.value)
    finally:
        holder.kill()
        holder.wait()
