"""JSON answers are found in prose or fences, and bad ones are refused in one line."""

import pytest
from pydantic import BaseModel

from archlab.llm import AnswerInvalid, parse_answer


class Pick(BaseModel):
    choice: str
    score: int


@pytest.mark.parametrize("text", [
    '{"choice": "E1", "score": 3}',
    'Sure! Here it is:\n```json\n{"choice": "E1", "score": 3}\n```\nGood luck.',
    'I pick {"choice": "E1", "score": 3} because it helped.',
])
def test_answer_is_found_wherever_the_model_puts_it(text):
    assert parse_answer(text, Pick) == Pick(choice="E1", score=3)


def test_text_without_json_is_refused_in_one_line():
    with pytest.raises(AnswerInvalid) as info:
        parse_answer("I would insert a convolution.", Pick)
    assert str(info.value) == "the answer holds no JSON object"


def test_schema_violation_names_the_field():
    with pytest.raises(AnswerInvalid) as info:
        parse_answer('{"choice": "E1", "score": "lots"}', Pick)
    message = str(info.value)
    assert "score" in message and "\n" not in message


def test_truncated_json_is_refused():
    with pytest.raises(AnswerInvalid):
        parse_answer('{"choice": "E1", "sco', Pick)
