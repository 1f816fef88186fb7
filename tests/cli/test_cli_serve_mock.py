"""`archlab serve-mock` answers like an OpenAI-compatible server on loopback."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.request

from cli_helpers import REPO, free_port


def test_serve_mock_lists_the_mock_model_and_stops_on_ctrl_c():
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "archlab", "serve-mock", "--port", str(port)], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline, body = time.monotonic() + 60, None
        while time.monotonic() < deadline and body is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=2) as reply:
                    body = json.loads(reply.read())
            except OSError:
                time.sleep(0.3)
        assert body is not None, f"serve-mock did not answer within 60 s (exit code {proc.poll()})"
        assert body["data"][0]["id"] == "mock"
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            out, err = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:  # never leave a server behind; say what it printed
            proc.kill()
            out, err = proc.communicate()
            raise AssertionError(f"serve-mock ignored Ctrl-C for 30 s; stderr ends: {err[-400:]!r}") from None
    assert proc.returncode == 0
    assert f"http://127.0.0.1:{port}/v1" in out
