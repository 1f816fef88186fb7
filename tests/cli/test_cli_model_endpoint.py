"""A real model endpoint as a person meets it through `archlab run`: nothing listening, a wrong key,
a faulty server, and a local server speaking the vLLM protocol (`archlab serve-mock`).

Slow: these import litellm (tens of seconds on a busy machine) and most train a candidate or two.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from archlab.cli import main
from cli_helpers import GOAL, error_lines, free_port, serve_mock, tiny_config

pytestmark = pytest.mark.slow
FAULT_KINDS = ("connect", "auth", "timeout", "rate_limit", "server", "malformed", "invalid", "bad_request", "other")


@pytest.fixture(autouse=True)
def _litellm_imported() -> None:
    """Import litellm before any timing: its import is not what the tests measure."""
    import archlab.llm.providers  # noqa: F401


def status_of(folder: Path, capsys: pytest.CaptureFixture[str]) -> dict:
    capsys.readouterr()
    assert main(["status", str(folder), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_a_dead_endpoint_stops_the_run_in_one_line_before_any_folder(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-dummy")
    port, out = free_port(), tmp_path / "run"  # nothing listens on the port
    started = time.monotonic()
    code = main(["run", GOAL, "--model", "openai/gpt-4o-mini", "--api-base", f"http://127.0.0.1:{port}/v1",
                 "--out", str(out), "--config", str(tiny_config(tmp_path, strategy="agentic"))])
    took = time.monotonic() - started
    _, err = capsys.readouterr()
    lines = error_lines(err)
    assert code == 1 and len(lines) == 1, err
    assert lines[0].startswith(f"archlab: cannot reach the model openai/gpt-4o-mini at http://127.0.0.1:{port}/v1: "
                               "connection refused"), lines[0]
    assert took < 30, f"took {took:.1f} s to give up on a refused connection"
    assert not out.exists()  # nothing half-made


def test_a_wrong_key_is_refused_naming_authentication(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-wrong")
    out = tmp_path / "run"
    with serve_mock("--api-key", "sk-right") as root:
        code = main(["run", GOAL, "--model", "openai/mock", "--api-base", f"{root}/v1", "--out", str(out),
                     "--config", str(tiny_config(tmp_path, strategy="agentic"))])
    lines = error_lines(capsys.readouterr().err)
    assert code == 1 and len(lines) == 1, lines
    assert "cannot reach the model openai/mock" in lines[0] and "authentication failed" in lines[0]
    assert "401" in lines[0]
    assert not out.exists()


def test_allow_fallback_runs_on_the_search_alone_and_counts_the_refused_connections(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-dummy")
    out = tmp_path / "run"
    code = main(["run", GOAL, "--model", "openai/gpt-4o-mini", "--api-base", f"http://127.0.0.1:{free_port()}/v1",
                 "--allow-fallback", "--out", str(out),
                 "--config", str(tiny_config(tmp_path, strategy="agentic", max_evals=1))])
    assert code == 0, capsys.readouterr().err
    llm = status_of(out, capsys)["llm"]
    assert llm["fallbacks"] > 0 and llm["faults"]["connect"] > 0


def test_fault_kinds_reach_usage_json_status_and_the_report(tmp_path, capsys):
    out = tmp_path / "run"
    with serve_mock("--fault-rate", "0.5") as root:
        code = main(["run", GOAL, "--model", "hosted_vllm/mock", "--api-base", f"{root}/v1", "--out", str(out),
                     "--config", str(tiny_config(tmp_path, strategy="agentic"))])
    assert code == 0, capsys.readouterr().err
    rows = json.loads((out / "llm" / "usage.json").read_text())["agents"]
    assert rows and all("faults" in row and "structured" in row for row in rows.values())
    llm = status_of(out, capsys)["llm"]
    assert set(llm["faults"]) == set(FAULT_KINDS)
    for kind in FAULT_KINDS:
        assert llm["faults"][kind] == sum(row["faults"].get(kind, 0) for row in rows.values())
    happened = [kind for kind, n in llm["faults"].items() if n]
    assert happened, "half the requests failed, yet no fault was counted"
    assert llm["structured"] > 0  # a vLLM-style server takes the answers' JSON schema
    assert main(["report", str(out)]) == 0
    report = (out / "report.md").read_text()
    line = next(line for line in report.splitlines() if line.startswith("Faults by kind:"))
    for kind in happened:
        assert f"{kind} {llm['faults'][kind]}" in line, line
    assert "Faults by kind:" in (out / "report.html").read_text()


def test_the_readme_local_server_route_finishes_with_no_fallbacks(tmp_path, capsys):
    out = tmp_path / "run"
    with serve_mock() as root:  # what `vllm serve` would be: an OpenAI-compatible server
        code = main(["run", GOAL, "--model", "hosted_vllm/mock", "--api-base", f"{root}/v1", "--out", str(out),
                     "--config", str(tiny_config(tmp_path, strategy="agentic"))])
    assert code == 0, capsys.readouterr().err
    status = status_of(out, capsys)
    assert status["status"] == "done" and status["evaluated"] == 2
    assert status["llm"]["calls"] > 0 and status["llm"]["fallbacks"] == 0
    assert status["llm"]["structured"] > 0 and not any(status["llm"]["faults"].values())
