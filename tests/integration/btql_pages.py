"""POST /btql from tests: one answer, or every page of a query by its cursors."""

from __future__ import annotations


def btql(client, query, **extra) -> dict:
    """The JSON answer of ``query`` (which must succeed)."""
    response = client.post("/btql", json={"query": query, **extra})
    assert response.status_code == 200, response.text
    return response.json()


def all_pages(client, query: str, *, sql: bool = False) -> list[list[dict]]:
    """Every page of ``query``, following cursors to the end (a cursor in clause text, or
    as OFFSET in SQL). A page that comes with a cursor is never empty."""
    pages, cursor = [], None
    for _ in range(200):
        text = query
        if cursor:
            text += f" OFFSET '{cursor}'" if sql else f" | cursor: '{cursor}'"
        answer = btql(client, text)
        pages.append(answer["data"])
        cursor = answer["cursor"]
        if cursor is None:
            return pages
        assert answer["data"], "a page with a cursor is never empty"
    raise AssertionError("cursors did not end")
