"""The JSON depth limit: orjson's encoder and the level-by-level walk agree at the edge."""

from __future__ import annotations

import pytest

from tracelake.model.rows import MAX_JSON_DEPTH, _walks_deeper, nests_deeper


def _lists(depth: int):
    value: list = []
    for _ in range(depth - 1):
        value = [value]
    return value


def _objects(depth: int):
    value: dict = {}
    for _ in range(depth - 1):
        value = {"k": value, "side": [1, "x", None]}
    return value


@pytest.mark.parametrize("build", [_lists, _objects])
@pytest.mark.parametrize(
    "depth",
    [
        1,
        2,
        MAX_JSON_DEPTH - 1,
        MAX_JSON_DEPTH,
        MAX_JSON_DEPTH + 1,
        MAX_JSON_DEPTH + 2,
        254,
        255,
        1000,
    ],
)
def test_the_encoder_check_and_the_walk_agree_at_the_limit(build, depth):
    value = build(depth)
    deeper = depth > MAX_JSON_DEPTH
    assert nests_deeper(value) is deeper
    assert _walks_deeper(value, MAX_JSON_DEPTH) is deeper


def test_scalars_never_nest_and_other_limits_walk():
    assert nests_deeper("x" * 10_000) is False
    assert nests_deeper(_lists(5), limit=4) is True
    assert nests_deeper(_lists(4), limit=4) is False
    assert nests_deeper(_lists(300), limit=260) is True  # past the encoder's own limit
