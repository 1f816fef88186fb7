"""Helpers for the agent tests: real legal menus from tools, and a scripted model."""

from __future__ import annotations

import os
import random

import torch

from archlab import tools
from archlab.llm import LLMClient

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
torch.set_num_threads(1)

INPUT_SHAPE = (1, 40)


def cnn_menu() -> list[tools.Edit]:
    return tools.legal_edits(tools.seeds.mnist1d_cnn(), INPUT_SHAPE)


def cnn_source() -> str:
    return tools.render(tools.seeds.mnist1d_cnn(), INPUT_SHAPE, 10)


def fallback_edit(menu: list[tools.Edit]) -> tools.Edit:
    return menu[0].sample(random.Random(0))


class ScriptedClient(LLMClient):
    """A client whose model answers from a list of texts."""

    def __init__(self, script: list[str], **kwargs) -> None:
        super().__init__("mock", **kwargs)
        self.script = list(script)

    def _call(self, messages, response_format=None, max_tokens=None):
        return self.script.pop(0), 100, 10, 0.0
