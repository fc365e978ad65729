"""The JSON codec of the store rows and report lines: fast, and never refusing what the
standard library wrote or accepted before."""

from __future__ import annotations

import json

import pytest

from linkcheck.model import codec


def test_text_is_compact_and_keeps_non_ascii() -> None:
    assert codec.dumps({"title": "Café ⚡", "n": [1, 2.5, None, True]}) == (
        '{"title":"Café ⚡","n":[1,2.5,null,true]}'
    )


def test_a_lone_surrogate_from_an_undecodable_file_name_is_still_written() -> None:
    name = "seeds/caf\udce9.txt"
    text = codec.dumps({"path": name})
    assert json.loads(text) == {"path": name}
    assert codec.loads(text) == {"path": name}


def test_an_integer_past_64_bits_is_still_written_and_read() -> None:
    text = codec.dumps({"bytes": 2**70})
    assert codec.loads(text) == {"bytes": 2**70}


def test_a_row_written_by_the_standard_library_reads_the_same() -> None:
    value = {"url": "https://news.test/é", "elapsed_ms": 12.5, "nan": float("inf")}
    assert codec.loads(json.dumps(value)) == value


def test_text_that_is_not_json_raises_value_error() -> None:
    with pytest.raises(ValueError):
        codec.loads('{"url": ')
