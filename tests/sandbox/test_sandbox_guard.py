"""The in-worker audit hook, the scrubbed environment and the pipe protocol, tested in-process."""

from __future__ import annotations

import os
import threading
import time

import pytest

from archlab.sandbox import protocol
from archlab.sandbox.guard import SandboxViolation, make_audit_hook, scrubbed_env


@pytest.fixture()
def hook(tmp_path):
    return make_audit_hook(tmp_path)


@pytest.mark.parametrize("event, args", [
    ("os.system", (b"touch /tmp/x",)),
    ("subprocess.Popen", ("sh", ["sh"], None, None)),
    ("socket.__new__", (None, 2, 1, 0)),
    ("socket.connect", (None, ("127.0.0.1", 80))),
    ("os.kill", (1, 9)),
    ("ctypes.dlopen", ("libc.so.6",)),
])
def test_dangerous_events_are_refused(hook, event, args):
    with pytest.raises(SandboxViolation, match="sandbox refused") as err:
        hook(event, args)
    assert "\n" not in str(err.value)


def test_writes_are_allowed_only_inside_the_scratch_folder(hook, tmp_path):
    hook("open", (str(tmp_path / "ok.txt"), "w", os.O_WRONLY | os.O_CREAT))
    hook("open", ("/etc/passwd", "r", os.O_RDONLY))  # reading is fine
    hook("open", ("/dev/null", "w", os.O_WRONLY))
    with pytest.raises(SandboxViolation, match="outside the scratch folder"):
        hook("open", ("/tmp/escape.txt", "w", os.O_WRONLY | os.O_CREAT))
    with pytest.raises(SandboxViolation):
        hook("open", (str(tmp_path / ".." / "escape.txt"), None, os.O_RDWR))
    with pytest.raises(SandboxViolation):
        hook("os.remove", ("/tmp/something", None))
    hook("os.remove", (str(tmp_path / "mine"), None))


def test_scrubbed_environment_drops_secrets_and_unknown_variables(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret")
    monkeypatch.setenv("GITHUB_TOKEN", "ghp-secret")
    monkeypatch.setenv("SOME_RANDOM_SETTING", "x")
    env = scrubbed_env(tmp_path, threads=2, extra_pythonpath="/src")
    assert "OPENAI_API_KEY" not in env and "GITHUB_TOKEN" not in env and "SOME_RANDOM_SETTING" not in env
    assert env["HOME"] == str(tmp_path) and env["TMPDIR"] == str(tmp_path)
    assert env["OMP_NUM_THREADS"] == "2" and env["PYTHONPATH"].startswith("/src")


def test_messages_round_trip_and_a_silent_peer_times_out():
    read_fd, write_fd = os.pipe()
    try:
        protocol.send(write_fd, {"type": "result", "value": [1, 2.5, "ü"]})
        assert protocol.receive(read_fd, time.monotonic() + 5) == {"type": "result", "value": [1, 2.5, "ü"]}
        with pytest.raises(protocol.ChannelTimeout):
            protocol.receive(read_fd, time.monotonic() + 0.2)
    finally:
        os.close(read_fd)
        os.close(write_fd)


def test_a_closed_peer_is_reported_as_closed():
    read_fd, write_fd = os.pipe()
    threading.Timer(0.1, os.close, args=(write_fd,)).start()
    try:
        with pytest.raises(protocol.ChannelClosed):
            protocol.receive(read_fd, time.monotonic() + 5)
    finally:
        os.close(read_fd)


def test_every_refusal_is_recorded_even_when_the_candidate_catches_it(tmp_path):
    refused: list[str] = []
    hook = make_audit_hook(tmp_path, refused=refused)
    for event, args in [("os.system", (b"id",)), ("ctypes.dlsym", (None, "system")),
                        ("sqlite3.connect", ("/tmp/elsewhere.db",))]:
        try:
            hook(event, args)
        except SandboxViolation:
            pass  # what a module would do to hide it
    assert len(refused) == 3 and "shell command" in refused[0] and "native function" in refused[1]
    assert "sqlite3.connect" in refused[2]
    hook("sqlite3.connect", (str(tmp_path / "fine.db"),))  # inside the scratch folder
    assert len(refused) == 3


def test_with_read_roots_reads_outside_them_are_refused(tmp_path):
    allowed = tmp_path / "venv"
    hook = make_audit_hook(tmp_path / "scratch", read_roots=[str(allowed)])
    hook("open", (str(allowed / "lib.py"), "r", os.O_RDONLY))
    hook("open", (str(tmp_path / "scratch" / "notes.txt"), "r", os.O_RDONLY))
    for path in ("/etc/passwd", str(tmp_path / "campaign" / "llm" / "cassette.jsonl")):
        with pytest.raises(SandboxViolation, match="refused reading"):
            hook("open", (path, "r", os.O_RDONLY))
    with pytest.raises(SandboxViolation, match="refused listing"):
        hook("os.listdir", (str(tmp_path / "campaign"),))
