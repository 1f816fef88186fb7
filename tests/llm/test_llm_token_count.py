"""The mock's token count is counted line by line (cached per line): it must equal one pass
over the whole text, whatever the whitespace, so usage figures do not move."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from archlab.llm.mock import _PIECE, count_tokens

_TEXT = st.text(alphabet=st.sampled_from(list("ab9_é .,;:!-{}\"\n\r\t\x0b\x0c\u2028")), max_size=200)


@given(_TEXT)
@settings(max_examples=300, deadline=None)
def test_count_by_lines_equals_one_pass(text: str) -> None:
    assert count_tokens(text) == len(_PIECE.findall(text))


def test_repeated_lines_are_counted_every_time() -> None:
    line = "menu entry 3: replace_cell_op edge 1<-0 op=nor_conv_3x3"
    assert count_tokens("\n".join([line] * 4)) == 4 * count_tokens(line)
