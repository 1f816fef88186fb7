"""The mock reads a prompt's labelled JSON blocks: the first block under a line that starts
with the label, whatever else the prompt holds (other blocks, the label inside text)."""

from __future__ import annotations

import json
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from archlab.llm.mock.blocks import json_block

PIECES = ["EVIDENCE", "EVIDENCE (past)", "MENU", "NOT EVIDENCE", "EVIDENCES", "\n", "```json\n", "\n```",
          "[1, 2]", '{"a": 1}', "text ", "```", "[", "\n\n"]


def _first_block_by_regex(prompt: str, label: str):
    """The reading of a block the mock has always had: a multiline regex search."""
    match = re.search(rf"^{re.escape(label)}\b[^\n]*\n```json\n(.*?)\n```", prompt, re.MULTILINE | re.DOTALL)
    if not match:
        return "absent"
    try:
        return json.loads(match.group(1))
    except json.JSONDecodeError:
        return "absent"


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=14), st.sampled_from(["EVIDENCE", "MENU"]))
def test_a_block_is_read_as_the_multiline_search_reads_it(pieces, label):
    prompt = "".join(pieces)
    assert json_block(prompt, label, "absent") == _first_block_by_regex(prompt, label)


def test_the_first_block_under_the_label_at_a_line_start_is_read():
    prompt = ("say EVIDENCE here\nEVIDENCES:\n```json\n[0]\n```\n"
              "EVIDENCE (past experiments):\n```json\n[1, 2]\n```\nEVIDENCE:\n```json\n[3]\n```")
    assert json_block(prompt, "EVIDENCE") == [1, 2]
    assert json_block(prompt, "MENU", []) == []
    assert json_block("EVIDENCE:\n```json\n[broken\n```", "EVIDENCE", "unreadable") == "unreadable"
