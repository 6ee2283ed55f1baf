"""What a query's error says when DuckDB refuses the SQL tracelake generated for it."""

from __future__ import annotations

import duckdb
import pytest

from tracelake.export.queries import engine_message


def _error_of(sql: str) -> duckdb.Error:
    with pytest.raises(duckdb.Error) as caught:
        duckdb.connect().execute(sql)
    return caught.value


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        (
            "CREATE TEMP TABLE query_page AS SELECT 1 ORDER BY 'a'",
            "Binder Error: ORDER BY non-integer literal has no effect.",
        ),
        (
            "CREATE TEMP TABLE query_page AS SELECT CAST('abc' AS INT)",
            "Conversion Error: Could not convert string 'abc' to INT32",
        ),
        (
            "SELECT nofunc(1)",
            "Catalog Error: Scalar Function with name nofunc does not exist!;"
            ' Did you mean "count"?',
        ),
    ],
)
def test_the_generated_sql_and_setting_hints_are_left_out(sql, message):
    """DuckDB quotes the statement (``LINE 1: CREATE TEMP TABLE query_page AS …`` and a
    caret) and suggests its own settings: the generated SQL is not the user's query."""
    error = _error_of(sql)
    assert "LINE 1" in str(error)  # (what DuckDB says)
    assert engine_message(error) == message
