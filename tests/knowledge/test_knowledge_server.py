"""The memory through a Chroma server (`--chroma-url`), started here on loopback."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from archlab.knowledge import KnowledgeError, Memory, open_memory
from memory_builders import conv_net, ok, record, write_campaign


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def chroma_url(tmp_path):
    """`chroma run` from the chromadb package, on a temporary path; stopped at the end."""
    script = Path(sys.executable).with_name("chroma")
    if not script.exists():
        pytest.fail(f"chroma console script not found next to {sys.executable}")
    port = _free_port()
    log = (tmp_path / "chroma.log").open("wb")
    server = subprocess.Popen(
        [str(script), "run", "--path", str(tmp_path / "server-data"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log, stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"chroma server did not start: {(tmp_path / 'chroma.log').read_text()[-500:]}")
                time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


@pytest.mark.slow  # starting the server takes several seconds on a busy machine
def test_memory_through_a_chroma_server(tmp_path, chroma_url, population):
    folder = write_campaign(tmp_path / "camp", population, insights=["residuals help depth"])
    with open_memory(folder, url=chroma_url, embedder="hashing") as memory:
        assert memory.count() == 8
        assert memory.similar(conv_net(32, 5, blocks=3, residual=True), k=1, params=30000)[0]["id"] == "e0004"
        assert memory.lookup(population[1].arch_hash, 1.0).cached
    assert not (folder / "index").exists()  # nothing was written locally
    # A second client (another machine, say) sees the same memory and adds to it.
    with Memory(url=chroma_url, embedder="hashing") as other:
        other.add(record(9, conv_net(8, 3), ok(0.95), campaign="beta"))
        assert other.best(1)[0]["campaign"] == "beta" and other.count() == 9


def test_unreachable_server_is_one_clear_line():
    with pytest.raises(KnowledgeError, match="cannot reach chroma server at http://127.0.0.1:") as caught:
        Memory(url=f"http://127.0.0.1:{_free_port()}", embedder="hashing")
    assert "\n" not in str(caught.value)


SERVER_WRITER = """
import sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from archlab.knowledge import Memory
from memory_builders import conv_net, ok, record
url, name, go = sys.argv[2], sys.argv[3], Path(sys.argv[4])
while not go.exists():
    time.sleep(0.02)
with Memory(url=url, embedder="hashing") as memory:  # both open (and seed the principles) at once
    for i in range(20):
        memory.add(record(i + 1, conv_net(8 + i, 3), ok(0.5 + i / 100), campaign=name))
        memory.similar(conv_net(8, 3), k=3)
print("DONE", flush=True)
"""


@pytest.mark.slow
def test_two_writers_at_once_through_one_chroma_server(tmp_path, chroma_url):
    script, go = tmp_path / "writer.py", tmp_path / "go"
    script.write_text(SERVER_WRITER)
    repo = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(repo)}
    procs = [subprocess.Popen([sys.executable, str(script), str(Path(__file__).parent), chroma_url, name, str(go)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=repo)
             for name in ("alpha", "beta")]
    time.sleep(1.0)
    go.touch()
    outputs = [proc.communicate(timeout=300) for proc in procs]
    assert all(proc.returncode == 0 and "DONE" in out for proc, (out, _) in zip(procs, outputs)), \
        [err[-800:] for _, err in outputs]
    with Memory(url=chroma_url, embedder="hashing") as memory:
        assert (memory.count("alpha"), memory.count("beta")) == (20, 20)
        assert len(memory.principles_for("a small CNN for signals", 3)) == 3
