"""What the CLI tests share: the command as a subprocess, a tiny config, `archlab serve-mock`, a Chroma server.

Subprocesses run this worktree's archlab (cwd and PYTHONPATH) with the ordinary dataset
cache, so MNIST-1D is made once per machine, not once per test.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
GOAL = "a small accurate model for MNIST-1D"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cli_env(**extra: str) -> dict[str, str]:
    from archlab.sandbox.tasks import default_cache_dir

    env = {**os.environ, "ARCHLAB_CACHE": str(default_cache_dir()), "PYTHONPATH": str(REPO),
           "PYTHONUNBUFFERED": "1"}
    env.update(extra)
    return env


def archlab(*args: str, env: dict[str, str] | None = None, **popen: Any) -> subprocess.Popen[str]:
    """`archlab ARGS` started in the background (stdout and stderr piped unless given)."""
    popen.setdefault("stdout", subprocess.PIPE)
    popen.setdefault("stderr", subprocess.PIPE)
    return subprocess.Popen([sys.executable, "-m", "archlab", *args], cwd=REPO, env=env or cli_env(), text=True,
                            **popen)


def archlab_done(*args: str, timeout: float = 600, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`archlab ARGS` run to the end."""
    return subprocess.run([sys.executable, "-m", "archlab", *args], cwd=REPO, env=env or cli_env(), text=True,
                          capture_output=True, timeout=timeout)


def tiny_config(folder: Path, **keys: Any) -> Path:
    """A config for a campaign of a few short trainings (override any key)."""
    values = {"max_evals": 2, "workers": 1, "embedder": "hashing", "strategy": "random",
              "recipe": {"steps": 30, "eval_every": 10}, "report_every_s": 3600}
    values.update(keys)
    path = folder / f"tiny-{len(list(folder.glob('tiny-*.yaml')))}.yaml"
    path.write_text(yaml.safe_dump(values), encoding="utf-8")
    return path


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.strip()]


def stop(proc: subprocess.Popen[str], timeout: float = 30) -> tuple[str, str]:
    """Ctrl-C a background command, then kill it if it does not go; its output."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
    try:
        return proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.communicate()


def wait_for(check: Any, timeout: float, what: str, proc: subprocess.Popen[str] | None = None) -> Any:
    """Poll `check()` until it returns something truthy; fail saying `what` did not happen."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            out, err = proc.communicate()
            raise AssertionError(f"{what}: the command ended first (exit {proc.returncode}); stderr: {err[-800:]}")
        time.sleep(0.2)
    raise AssertionError(f"{what} did not happen within {timeout:.0f} s")


@contextlib.contextmanager
def serve_mock(*options: str) -> Iterator[str]:
    """`archlab serve-mock OPTIONS` on a free loopback port; yields its root URL (the OpenAI API is at /v1)."""
    port = free_port()
    proc = archlab("serve-mock", "--port", str(port), *options, stdout=subprocess.DEVNULL)
    root = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        try:
            with urllib.request.urlopen(f"{root}/v1/models", timeout=2) as reply:
                return bool(json.loads(reply.read()))
        except OSError as exc:  # 401 with --api-key still proves it listens
            return getattr(exc, "code", None) == 401

    try:
        wait_for(answers, 90, "serve-mock answering", proc)
        yield root
    finally:
        stop(proc)


@contextlib.contextmanager
def chroma_server(data: Path) -> Iterator[str]:
    """`chroma run` (the chromadb package's server) on a free loopback port; yields its URL."""
    port = free_port()
    log = (data.parent / "chroma.log").open("wb")
    proc = subprocess.Popen([str(Path(sys.executable).with_name("chroma")), "run", "--path", str(data),
                             "--host", "127.0.0.1", "--port", str(port)], stdout=log, stderr=subprocess.STDOUT)

    def listening() -> bool:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
        assert proc.poll() is None, f"chroma server ended: {(data.parent / 'chroma.log').read_text()[-500:]}"
        return False

    try:
        wait_for(listening, 90, "the chroma server listening")
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
