"""Every ``format`` a field schema may name is checked (and no other may be saved)."""

from __future__ import annotations

import pytest

from tracelake.errors import InvalidRequest
from tracelake.model.field_schemas import check_schema, formats, validator_for, violations

CASES = {
    "date": (["2024-02-29"], ["2023-02-29", "2024-1-01"]),
    "date-time": (
        ["2024-02-29T23:59:59.5+05:30", "2024-01-01t00:00:00z"],
        ["2024-01-01 00:00:00Z", "2024-01-01T00:00:00", "2024-01-32T00:00:00Z", "x"],
    ),
    "time": (["10:00:00Z", "23:59:60-01:00"], ["10:00", "24:00:00Z", "10:00:00Z\n"]),
    "email": (["a@example.com"], ["example.com"]),
    "idn-email": (["é@example.com"], ["example.com"]),
    "hostname": (["example.com", "a-b.c"], ["-a.com", "a..b", "a_b.com", "a" * 64 + ".com"]),
    "ipv4": (["192.168.0.1"], ["256.0.0.1", "1.2.3"]),
    "ipv6": (["::1"], ["1:::1", "::1%eth0"]),
    "uri": (["https://x.org/a?b=1#c", "urn:isbn:1"], ["/relative", "https://x.org/a b"]),
    "uri-reference": (["/relative?x=%20", "https://x.org"], ["a b", "%zz"]),
    "json-pointer": (["", "/a/~0/~1"], ["a", "/~2"]),
    "regex": (["^a+$"], ["(?=a)", "("]),
    "uuid": (["5f9c8b0e-1a2b-4c3d-8e9f-0a1b2c3d4e5f"], ["5f9c8b0e1a2b4c3d8e9f0a1b2c3d4e5f"]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_format_is_checked(name):
    valid, invalid = CASES[name]
    validator = validator_for(check_schema({"format": name}))
    for value in valid:
        assert violations(validator, value) == [], (name, value)
    for value in invalid:
        assert violations(validator, value), (name, value)
    assert violations(validator, 5) == []  # a format says nothing of other types


def test_every_format_allowed_is_tested_and_others_are_refused():
    assert set(formats()) >= set(CASES) - {"idn-hostname"}
    assert set(formats()) - {"idn-hostname"} == set(CASES)
    for name in ("emial", "duration", "iri", "color"):
        with pytest.raises(InvalidRequest, match=f'format "{name}" at / is not checked'):
            check_schema({"type": "string", "format": name})
    # "format" as a property name is no keyword
    check_schema({"properties": {"format": {"type": "string"}}, "required": ["format"]})
