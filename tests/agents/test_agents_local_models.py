"""Local models as a person runs them (README): vLLM and Ollama through litellm, against serve-mock.

`--model hosted_vllm/NAME --api-base http://HOST:8000/v1` speaks the OpenAI API;
`--model ollama_chat/NAME` and `ollama/NAME` (with `--api-base http://HOST:11434`)
speak Ollama's own. The mock server answers all three, structured answers included.
"""

import pytest
from test_agents_session import run_session

from archlab.llm import LLMClient, running_mock_server


@pytest.mark.parametrize("model, root", [("hosted_vllm/mock", False), ("ollama_chat/mock", True)])
def test_a_local_server_session_decides_exactly_as_the_in_process_mock(model, root, menu, parent_source):
    with running_mock_server() as server:
        client = LLMClient(model, api_base=server.root if root else server.api_base, seed=2)
        local = run_session(client, menu, parent_source)
        served = server.served
    assert served["structured"] == client.usage.totals()["calls"] == 13  # auto: self-hosted servers take a schema
    assert served.get("schema_violations", 0) == 0
    in_process = run_session(LLMClient("mock", seed=2), menu, parent_source)
    assert [row.replace(f'"model":"{model}"', '"model":"mock"') for row in local] == in_process
    assert client.usage.totals()["fallbacks"] == 0


def test_ollama_generate_flattens_the_chat_and_still_answers_every_agent(menu, parent_source):
    with running_mock_server() as server:
        client = LLMClient("ollama/mock", api_base=server.root, seed=2)
        decisions = run_session(client, menu, parent_source)
    assert len(decisions) == 13 and client.usage.totals()["fallbacks"] == 0
    assert all(row.prompt_tokens > 0 for row in client.usage.agents.values())
