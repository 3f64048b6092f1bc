"""The canonical JSON of the trail is RFC 8785 for its float-free domain, and the fast path the
application uses gives exactly the reference bytes."""

import json

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from audit.verifier import MAX_SAFE_INT, canonical_json, canonical_json_fast

keys = st.text(alphabet=st.characters(codec="utf-8"), max_size=6)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-MAX_SAFE_INT, max_value=MAX_SAFE_INT)
    | st.text(alphabet=st.characters(codec="utf-8"), max_size=12)
)
values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=400, deadline=None)
@given(values)
def test_reference_and_fast_path_equal_rfc8785(value):
    expected = rfc8785.dumps(value)
    assert canonical_json(value) == expected
    assert canonical_json_fast(value) == expected


def test_utf16_key_order_differs_from_code_point_order():
    # U+1F600 (a surrogate pair D83D DE00 in UTF-16) sorts before U+FF21 in RFC 8785.
    value = {"\uff21": 1, "\U0001f600": 2}
    assert canonical_json(value) == rfc8785.dumps(value)
    assert canonical_json_fast(value) == rfc8785.dumps(value)
    assert canonical_json(value).index("\U0001f600".encode()) < canonical_json(value).index("\uff21".encode())


def test_control_characters_and_escapes():
    value = {"s": 'a\x00\x1f\b\f\n\r\t"\\/\x7f é'}
    assert canonical_json(value) == rfc8785.dumps(value)
    assert canonical_json_fast(value) == rfc8785.dumps(value)


@pytest.mark.parametrize("bad", [1.5, {"a": 0.1}, [float("nan")], 2**53, -(2**53), {1: "x"}])
def test_out_of_domain_values_are_refused(bad):
    with pytest.raises((TypeError, ValueError)):
        canonical_json(bad)


def test_export_lines_are_themselves_canonical():
    from audit.verifier import GENESIS_HASH, entry_hash, export_line

    body = {"seq": 1, "data": {"amount": "1.00"}}
    line = export_line(canonical_json(body), GENESIS_HASH, entry_hash(GENESIS_HASH, body))
    assert line.endswith(b"\n")
    assert canonical_json(json.loads(line)) + b"\n" == line
